//! The seccomp filter bubblewrap installs before it runs the command (`--seccomp FD`),
//! compiled with `seccompiler` (rust-vmm/Firecracker) instead of hand-written BPF.
//!
//! Namespaces already confine files, processes and (except `full`) the network; the filter
//! closes what namespaces do not: the kernel keyrings (shared across namespaces, they can hold
//! an operator's credentials) and io_uring (it opens sockets without `socket(2)`, and is a
//! frequent kernel attack surface). With network `none` it also refuses every socket that is
//! not a Unix or netlink one, so nothing can listen or connect even on the private `lo`.

use super::Network;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// x32 syscalls share x86_64's audit arch with this bit set; refuse their copies too.
#[cfg(target_arch = "x86_64")]
const X32: i64 = 0x4000_0000;

/// The compiled filter as the bytes `bwrap --seccomp` reads (an array of `sock_filter`).
pub(crate) fn program(network: Network) -> Result<Vec<u8>, String> {
    let arch = target_arch()?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for nr in [
        libc::SYS_add_key,
        libc::SYS_keyctl,
        libc::SYS_request_key,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
    ] {
        insert(&mut rules, nr, Vec::new());
    }
    if network == Network::None {
        let not = |family: i32| {
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, family as u64)
        };
        let rule = SeccompRule::new(vec![
            not(libc::AF_UNIX).map_err(err)?,
            not(libc::AF_NETLINK).map_err(err)?,
        ])
        .map_err(err)?;
        insert(&mut rules, libc::SYS_socket, vec![rule]);
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EACCES as u32),
        arch,
    )
    .map_err(err)?;
    let prog: BpfProgram = filter.try_into().map_err(err)?;
    let mut bytes = Vec::with_capacity(prog.len() * 8);
    for ins in prog {
        bytes.extend_from_slice(&ins.code.to_ne_bytes());
        bytes.push(ins.jt);
        bytes.push(ins.jf);
        bytes.extend_from_slice(&ins.k.to_ne_bytes());
    }
    Ok(bytes)
}

fn insert(rules: &mut BTreeMap<i64, Vec<SeccompRule>>, nr: i64, chain: Vec<SeccompRule>) {
    #[cfg(target_arch = "x86_64")]
    rules.insert(nr | X32, chain.clone());
    rules.insert(nr, chain);
}

fn target_arch() -> Result<TargetArch, String> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(|_| {
        format!(
            "no seccomp support for {}; set [sandbox] mode = \"off\" to run unconfined",
            std::env::consts::ARCH
        )
    })
}

fn err(e: impl std::fmt::Display) -> String {
    format!("cannot build the seccomp filter: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_compile_to_whole_instructions_and_none_is_stricter() {
        let none = program(Network::None).unwrap();
        let lo = program(Network::Loopback).unwrap();
        let full = program(Network::Full).unwrap();
        assert_eq!(none.len() % 8, 0);
        assert!(none.len() > lo.len(), "none adds the socket rule");
        assert_eq!(lo, full, "loopback and full differ only in namespaces");
    }
}
