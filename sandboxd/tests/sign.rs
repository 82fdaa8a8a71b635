//! Given a gateway that holds the signing key: git signs a commit through airlock-sign, the
//! sandbox never sees the private key, and ssh-keygen verifies the signature.

mod support;

use std::path::Path;
use support::upstream::Upstream;
use support::Transport;

fn git(dir: &Path, home: &Path, sign_socket: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("AIRLOCK_SIGN_SOCKET", sign_socket)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

#[tokio::test]
async fn git_commit_is_signed_by_the_gateway_and_verifies() {
    if support::find_program("git", None).is_none() || support::find_program("ssh-keygen", None).is_none() {
        return support::skip("git or ssh-keygen is not installed");
    }
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("id_ed25519");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "airlock-test", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let upstream = Upstream { git_root: None, signing_key: Some(key.clone()) };
    let (_gw, sb, dir) = support::connected(upstream, Transport::Ws).await;
    // The sandbox side holds only the public key.
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    let pubfile = dir.path().join("signing.pub");
    std::fs::write(&pubfile, &public).expect("write pub");
    let allowed = dir.path().join("allowed_signers");
    std::fs::write(&allowed, format!("dev@example.test {public}")).expect("write allowed");
    let sign = env!("CARGO_BIN_EXE_airlock-sign");
    let (pubfile, allowed) = (pubfile.display().to_string(), allowed.display().to_string());
    let (socket, home) = (sb.sign_socket.clone(), dir.path().to_owned());
    tokio::task::spawn_blocking(move || {
        let g = |args: &[&str]| git(&repo, &home, &socket, args);
        g(&["init", "-q", "-b", "main"]);
        for (k, v) in [
            ("user.name", "Dev"),
            ("user.email", "dev@example.test"),
            ("gpg.format", "ssh"),
            ("gpg.ssh.program", sign),
            ("user.signingkey", pubfile.as_str()),
            ("gpg.ssh.allowedSignersFile", allowed.as_str()),
        ] {
            g(&["config", k, v]);
        }
        std::fs::write(repo.join("f.txt"), "signed\n").expect("write");
        g(&["add", "."]);
        g(&["commit", "-q", "-S", "-m", "signed commit"]);
        let shown = g(&["log", "--show-signature", "-1"]);
        let text =
            String::from_utf8_lossy(&shown.stdout).into_owned() + &String::from_utf8_lossy(&shown.stderr);
        assert!(text.contains("Good \"git\" signature for dev@example.test"), "{text}");
        g(&["verify-commit", "HEAD"]);
    })
    .await
    .expect("git steps");
}

#[tokio::test]
async fn signing_fails_clearly_when_the_gateway_refuses() {
    let (_gw, sb, dir) = support::connected(Upstream::default(), Transport::Ws).await;
    let payload = dir.path().join("payload");
    std::fs::write(&payload, "x").expect("write");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_airlock-sign"))
        .args(["-Y", "sign", "-n", "git", "-f", "/nonexistent.pub"])
        .arg(&payload)
        .env("AIRLOCK_SIGN_SOCKET", &sb.sign_socket)
        .output()
        .await
        .expect("airlock-sign");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no signing key configured"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!payload.with_extension("sig").exists());
}
