//! How sandboxd starts children: as the unprivileged sandbox user, with the sandbox's env (proxy
//! and CA trust variables included), each in its own process group.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ChildEnv {
    /// `None` when sandboxd is not root (tests as an ordinary user): children run as sandboxd.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub home: PathBuf,
    pub shell: String,
    pub user: String,
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("unknown user {0}")]
    Unknown(String),
    #[error("looking up user {0}: {1}")]
    Lookup(String, nix::Error),
}

impl ChildEnv {
    /// Resolve `user`; drop to it only when we are root.
    pub fn for_user(user: &str, env: BTreeMap<String, String>) -> Result<ChildEnv, UserError> {
        let u = nix::unistd::User::from_name(user)
            .map_err(|e| UserError::Lookup(user.to_owned(), e))?
            .ok_or_else(|| UserError::Unknown(user.to_owned()))?;
        let root = nix::unistd::geteuid().is_root();
        let shell = u.shell.to_string_lossy().into_owned();
        let shell = if shell.is_empty() || shell.ends_with("nologin") || shell.ends_with("false") {
            "/bin/sh".to_owned()
        } else {
            shell
        };
        Ok(ChildEnv {
            uid: root.then_some(u.uid.as_raw()),
            gid: root.then_some(u.gid.as_raw()),
            home: u.dir,
            shell,
            user: u.name,
            env,
        })
    }

    /// A command with env cleared and rebuilt, the user's identity, cwd and its own process group.
    pub fn command(
        &self,
        program: &str,
        args: &[String],
        cwd: Option<&str>,
        extra: &BTreeMap<String, String>,
    ) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args).env_clear();
        cmd.env("HOME", &self.home)
            .env("USER", &self.user)
            .env("LOGNAME", &self.user)
            .env("SHELL", &self.shell);
        cmd.env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        cmd.envs(&self.env).envs(extra);
        let dir = cwd.map(PathBuf::from).unwrap_or_else(|| self.home.clone());
        cmd.current_dir(if dir.is_dir() { dir } else { PathBuf::from("/") });
        if let (Some(uid), Some(gid)) = (self.uid, self.gid) {
            // std drops supplementary groups (setgroups(0)) when uid is set as root.
            cmd.uid(uid).gid(gid);
        }
        cmd
    }
}

/// Signal a whole process group (negative pid), ignoring "already gone".
pub fn signal_group(pgid: u32, signal: i32) {
    let Ok(pgid) = i32::try_from(pgid) else {
        return;
    };
    if let Ok(sig) = nix::sys::signal::Signal::try_from(signal) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), sig);
    }
}

/// Exit code and signal from a wait status: (code, signal), code −1 when signalled.
pub fn exit_parts(status: std::process::ExitStatus) -> (i32, u8) {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => (code, 0),
        (None, Some(sig)) => (-1, u8::try_from(sig).unwrap_or(0)),
        (None, None) => (-1, 0),
    }
}
