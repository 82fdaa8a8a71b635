//! airlock-sign: git's `gpg.ssh.program` (with `gpg.format=ssh`). `-Y sign` asks sandboxd to have
//! the gateway sign (the private key never enters the sandbox); other `-Y` operations are
//! delegated to `ssh-keygen`.

use std::path::PathBuf;
use std::process::ExitCode;

const DEFAULT_SOCKET: &str = "/run/airlock/sign.sock";

fn fail(message: &str) -> ExitCode {
    eprintln!("airlock-sign: {message}");
    ExitCode::from(255)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let op = args.iter().position(|a| a == "-Y").and_then(|i| args.get(i + 1)).map(String::as_str);
    match op {
        Some("sign") => sign(&args),
        Some(_) => delegate(&args),
        None => fail("usage: airlock-sign -Y sign -n NAMESPACE -f KEYFILE FILE"),
    }
}

fn delegate(args: &[String]) -> ExitCode {
    let Some(keygen) = find_in_path("ssh-keygen") else {
        return fail("ssh-keygen is not installed; only -Y sign works without it");
    };
    match std::process::Command::new(keygen).args(args).status() {
        Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(255)).unwrap_or(255)),
        Err(e) => fail(&format!("ssh-keygen: {e}")),
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn sign(args: &[String]) -> ExitCode {
    let mut namespace = None;
    let mut keyfile = None;
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-Y" => {
                it.next();
            }
            "-n" => namespace = it.next().cloned(),
            "-f" => keyfile = it.next().cloned(),
            "-U" | "-q" => {}
            "-O" => {
                it.next();
            }
            other => files.push(other.to_owned()),
        }
    }
    let Some(namespace) = namespace else {
        return fail("-n NAMESPACE is required");
    };
    // The key file names which key to use: pass its public half along, never a private key.
    let public_key = keyfile
        .and_then(|k| std::fs::read_to_string(k).ok())
        .map(|k| k.trim().to_owned())
        .filter(|k| k.starts_with("ssh-") || k.starts_with("ecdsa-") || k.starts_with("sk-"));
    let socket =
        std::env::var_os("AIRLOCK_SIGN_SOCKET").map(PathBuf::from).unwrap_or_else(|| DEFAULT_SOCKET.into());
    if files.is_empty() {
        let mut data = Vec::new();
        if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut data) {
            return fail(&format!("stdin: {e}"));
        }
        return match sandboxd::sign::request_signature(&socket, &namespace, public_key.as_deref(), &data) {
            Ok(sig) => match std::io::Write::write_all(&mut std::io::stdout(), &sig) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("stdout: {e}")),
            },
            Err(e) => fail(&e),
        };
    }
    for file in files {
        let data = match std::fs::read(&file) {
            Ok(d) => d,
            Err(e) => return fail(&format!("{file}: {e}")),
        };
        match sandboxd::sign::request_signature(&socket, &namespace, public_key.as_deref(), &data) {
            Ok(sig) => {
                let out = PathBuf::from(format!("{file}.sig"));
                if let Err(e) = std::fs::write(&out, sig) {
                    return fail(&format!("{}: {e}", out.display()));
                }
            }
            Err(e) => return fail(&e),
        }
    }
    ExitCode::SUCCESS
}
