//! The protocol between foreman and the run's sandbox supervisor, on one Unix stream socket.
//!
//! foreman → supervisor: frames `[u32 len][payload]`. A `Run` payload carries the command and
//! arrives with two file descriptors (the call's stdout and stderr pipes) as `SCM_RIGHTS` on
//! its first bytes; a frame of length 0 is `Kill` (end everything but the supervisor).
//! supervisor → foreman: fixed 8-byte [`Reply`] records. Pure encoding, so both ends and the
//! bounds are unit-tested here.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// A frame larger than this is refused (a command is bounded far below by the reply cap).
pub(crate) const MAX_FRAME: usize = 16 * 1024 * 1024;
/// At most this many arguments or environment entries in one `Run`.
const MAX_ITEMS: usize = 4096;

/// One command for the supervisor to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) cwd: PathBuf,
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: Vec<(OsString, OsString)>,
}

/// The whole `Run` frame, length prefix included.
pub(crate) fn encode_run(
    cwd: &OsStr,
    program: &OsStr,
    args: &[&OsStr],
    env: &[(String, String)],
) -> Vec<u8> {
    let mut b = vec![0u8; 4];
    put(&mut b, cwd.as_bytes());
    put(&mut b, program.as_bytes());
    b.extend_from_slice(&(args.len() as u32).to_le_bytes());
    for a in args {
        put(&mut b, a.as_bytes());
    }
    b.extend_from_slice(&(env.len() as u32).to_le_bytes());
    for (k, v) in env {
        put(&mut b, k.as_bytes());
        put(&mut b, v.as_bytes());
    }
    let len = (b.len() - 4) as u32;
    b[..4].copy_from_slice(&len.to_le_bytes());
    b
}

/// The `Kill` frame.
pub(crate) const KILL: [u8; 4] = [0; 4];

fn put(b: &mut Vec<u8>, s: &[u8]) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s);
}

/// Parses a `Run` payload (after its length prefix); anything malformed is an error.
pub(crate) fn decode_run(payload: &[u8]) -> Result<Run, String> {
    let mut r = Reader(payload);
    let cwd = PathBuf::from(r.string()?);
    let program = r.string()?;
    let n = r.count()?;
    let args = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
    let n = r.count()?;
    let env = (0..n)
        .map(|_| Ok((r.string()?, r.string()?)))
        .collect::<Result<_, String>>()?;
    if !r.0.is_empty() {
        return Err(format!("{} trailing bytes after the command", r.0.len()));
    }
    Ok(Run {
        cwd,
        program,
        args,
        env,
    })
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u32(&mut self) -> Result<usize, String> {
        let (head, rest) = self
            .0
            .split_first_chunk::<4>()
            .ok_or("the command frame ends early")?;
        self.0 = rest;
        Ok(u32::from_le_bytes(*head) as usize)
    }
    fn count(&mut self) -> Result<usize, String> {
        let n = self.u32()?;
        if n > MAX_ITEMS {
            return Err(format!(
                "{n} items in the command frame (at most {MAX_ITEMS})"
            ));
        }
        Ok(n)
    }
    fn string(&mut self) -> Result<OsString, String> {
        let n = self.u32()?;
        if n > self.0.len() {
            return Err("a string in the command frame runs past its end".into());
        }
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(OsString::from_vec(s.to_vec()))
    }
}

/// What the supervisor reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Started and waiting for commands.
    Ready,
    /// The command is running.
    Started,
    /// The command ended; the raw wait status (`ExitStatusExt::from_raw`).
    Exited(i32),
    /// The command could not be started (errno).
    SpawnFailed(i32),
    /// After a `Kill`: no process but the supervisor is left in the sandbox.
    Clean,
}

pub(crate) const REPLY_LEN: usize = 8;

impl Reply {
    pub(crate) fn encode(self) -> [u8; REPLY_LEN] {
        let (tag, v): (u32, i32) = match self {
            Reply::Ready => (1, 0),
            Reply::Exited(s) => (2, s),
            Reply::SpawnFailed(e) => (3, e),
            Reply::Clean => (4, 0),
            Reply::Started => (5, 0),
        };
        let mut b = [0u8; REPLY_LEN];
        b[..4].copy_from_slice(&tag.to_le_bytes());
        b[4..].copy_from_slice(&v.to_le_bytes());
        b
    }

    pub(crate) fn decode(b: [u8; REPLY_LEN]) -> Option<Reply> {
        let tag = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let v = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        Some(match tag {
            1 => Reply::Ready,
            2 => Reply::Exited(v),
            3 => Reply::SpawnFailed(v),
            4 => Reply::Clean,
            5 => Reply::Started,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_frame_round_trips_with_its_length_prefix() {
        let env = vec![("PATH".to_string(), "/usr/bin".to_string())];
        let args = [OsStr::new("-c"), OsStr::new("echo 'hi'; exit 3")];
        let f = encode_run(OsStr::new("/ws"), OsStr::new("sh"), &args, &env);
        let len = u32::from_le_bytes([f[0], f[1], f[2], f[3]]) as usize;
        assert_eq!(len, f.len() - 4);
        let run = decode_run(&f[4..]).unwrap();
        assert_eq!(
            run,
            Run {
                cwd: PathBuf::from("/ws"),
                program: "sh".into(),
                args: vec!["-c".into(), "echo 'hi'; exit 3".into()],
                env: vec![("PATH".into(), "/usr/bin".into())],
            }
        );
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let f = encode_run(OsStr::new("/ws"), OsStr::new("sh"), &[], &[]);
        for cut in 0..f.len() - 4 {
            assert!(decode_run(&f[4..4 + cut]).is_err(), "cut at {cut}");
        }
        let mut long = f[4..].to_vec();
        long.push(0);
        assert_eq!(
            decode_run(&long).unwrap_err(),
            "1 trailing bytes after the command"
        );
        let mut huge = Vec::new();
        put(&mut huge, b"/ws");
        put(&mut huge, b"sh");
        huge.extend_from_slice(&(u32::MAX).to_le_bytes());
        assert!(decode_run(&huge).unwrap_err().contains("items"));
    }

    #[test]
    fn replies_round_trip_and_unknown_tags_are_refused() {
        for r in [
            Reply::Ready,
            Reply::Started,
            Reply::Exited(137),
            Reply::SpawnFailed(2),
            Reply::Clean,
        ] {
            assert_eq!(Reply::decode(r.encode()), Some(r));
        }
        assert_eq!(Reply::decode([9, 0, 0, 0, 0, 0, 0, 0]), None);
    }
}
