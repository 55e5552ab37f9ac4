//! Docker's default seccomp profile as data, turned into an OCI `LinuxSeccomp`.
