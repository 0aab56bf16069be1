"""A seccomp filter for the code sandbox, as a classic BPF program bubblewrap loads (`bwrap --seccomp FD`).

A deny list on top of the namespaces: system calls candidate code never needs and that widen the
kernel's attack surface (new namespaces, mounts, ptrace, keyrings, BPF, perf, io_uring, module and
kexec loading, TIOCSTI; memfd_create, whose memory RLIMIT_AS would not count) fail with EPERM;
`clone3` fails with ENOSYS so the C library falls back to `clone`, whose namespace flags are checked.
Another architecture than the one the filter was written for, and the x32 ABI, are refused outright.
Only x86-64 is covered: elsewhere `program()` returns None and the run's report says seccomp is not
active.
"""

from __future__ import annotations

import errno
import platform
import struct

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
_NR, _ARCH, _ARG0_LO, _ARG1_LO = 0, 4, 16, 24
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06

_CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
_TIOCSTI = 0x5412

# x86-64 system call numbers refused with EPERM.
DENIED_X86_64 = {
    "ptrace": 101, "syslog": 103, "personality": 135, "vhangup": 153, "pivot_root": 155, "chroot": 161,
    "acct": 163, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169,
    "init_module": 175, "delete_module": 176, "quotactl": 179, "kexec_load": 246, "add_key": 248,
    "request_key": 249, "keyctl": 250, "unshare": 272, "perf_event_open": 298, "fanotify_init": 300,
    "name_to_handle_at": 303, "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "finit_module": 313, "kexec_file_load": 320, "bpf": 321, "memfd_create": 319, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_getfd": 438,
    "mount_setattr": 442,
}
_CLONE, _CLONE3, _IOCTL = 56, 435, 16


def _stmt(code: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def program() -> bytes | None:
    """The filter as bytes (struct sock_filter[]), or None where this machine's architecture is not covered."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    eperm = _RET_ERRNO | errno.EPERM
    ins: list[bytes] = [
        _stmt(_LD_W_ABS, _ARCH),
        _jump(_JEQ_K, _AUDIT_ARCH_X86_64, 1, 0),
        _stmt(_RET_K, _RET_KILL_PROCESS),
        _stmt(_LD_W_ABS, _NR),
        _jump(_JGE_K, _X32_BIT, 0, 1),
        _stmt(_RET_K, eperm),
    ]
    for nr in sorted(DENIED_X86_64.values()):
        ins += [_jump(_JEQ_K, nr, 0, 1), _stmt(_RET_K, eperm)]
    ins += [_jump(_JEQ_K, _CLONE3, 0, 1), _stmt(_RET_K, _RET_ERRNO | errno.ENOSYS)]
    # clone(flags, ...): refuse new namespaces (the low 32 bits of flags hold them all).
    ins += [
        _jump(_JEQ_K, _CLONE, 0, 4),
        _stmt(_LD_W_ABS, _ARG0_LO),
        _jump(_JSET_K, _CLONE_NAMESPACES, 0, 1),
        _stmt(_RET_K, eperm),
        _stmt(_RET_K, _RET_ALLOW),
    ]
    # ioctl(fd, TIOCSTI, ...): no typing into a terminal.
    ins += [
        _jump(_JEQ_K, _IOCTL, 0, 4),
        _stmt(_LD_W_ABS, _ARG1_LO),
        _jump(_JEQ_K, _TIOCSTI, 0, 1),
        _stmt(_RET_K, eperm),
        _stmt(_RET_K, _RET_ALLOW),
    ]
    ins.append(_stmt(_RET_K, _RET_ALLOW))
    return b"".join(ins)
