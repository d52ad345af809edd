"""Local tooling for swr-sync: the SWR+IAM emulator, the local stack, `invoke`, the packager."""
