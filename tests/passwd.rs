//! `minibroker passwd` run as a user would, on temporary files, without sockets: batch mode,
//! updates, deletion, conversion, the errors and their exit status, and files exchanged with
//! Debian's mosquitto_passwd when it is installed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use minibroker::auth::{PasswordFile, PasswordLimits};

const MOSQUITTO_PASSWD: &str = "/usr/bin/mosquitto_passwd";

/// A directory of its own for each test, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("minibroker-passwd-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn passwd(args: &[&str], file: &Path) -> Output {
    // The file goes where the first `{}` stands, so options stay in front.
    let args = args.iter().map(|arg| {
        if *arg == "{}" {
            file.as_os_str()
        } else {
            arg.as_ref()
        }
    });
    Command::new(env!("CARGO_BIN_EXE_minibroker"))
        .arg("passwd")
        .args(args)
        .output()
        .expect("run minibroker passwd")
}

fn succeeds(output: Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status.code()
    );
}

/// Exits 1 with the message on the first line of standard error.
fn fails_with(output: Output, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("minibroker passwd: "), "{stderr}");
    assert!(first.contains(message), "{message:?} not in {stderr}");
}

fn load(path: &Path) -> PasswordFile {
    let text = fs::read(path).expect("read the password file");
    let parsed = PasswordFile::parse(&text, "pw", PasswordLimits::default());
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    parsed.file
}

fn users(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).expect("read the password file");
    text.lines()
        .filter_map(|line| line.split_once(':').map(|(user, _)| user.to_owned()))
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[test]
fn batch_mode_creates_updates_and_deletes() {
    let dir = TempDir::new();
    let file = dir.file("pw");
    succeeds(passwd(&["-c", "-b", "{}", "alice", "s3cret"], &file));
    assert!(load(&file).check("alice", Some(b"s3cret")));
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("alice:$7$101$"), "{text}");
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);

    succeeds(passwd(&["-b", "{}", "bob", "b0b"], &file));
    succeeds(passwd(&["-b", "-H", "sha512", "{}", "carol", "c"], &file));
    succeeds(passwd(&["-b", "-I", "2000", "{}", "alice", "new"], &file));
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("alice:$7$2000$") && text.contains("carol:$6$"),
        "{text}"
    );
    assert_eq!(users(&file), ["alice", "bob", "carol"]);
    let loaded = load(&file);
    assert!(loaded.check("alice", Some(b"new")) && !loaded.check("alice", Some(b"s3cret")));
    assert!(loaded.check("bob", Some(b"b0b")) && loaded.check("carol", Some(b"c")));

    succeeds(passwd(&["-D", "{}", "bob"], &file));
    assert_eq!(users(&file), ["alice", "carol"]);
    // Nothing is left behind beside the file.
    let names: Vec<_> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["pw"]);
}

#[cfg(unix)]
#[test]
fn an_update_keeps_the_files_mode_and_follows_a_symbolic_link() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new();
    let real = dir.file("real");
    succeeds(passwd(&["-c", "-b", "{}", "u", "p"], &real));
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.file("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    succeeds(passwd(&["-b", "{}", "v", "q"], &link));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(mode(&real), 0o640);
    assert!(load(&real).check("v", Some(b"q")));
}

#[test]
fn convert_hashes_plain_text_once() {
    let dir = TempDir::new();
    let file = dir.file("pw");
    fs::write(&file, "# staff\nann:plain1\nben : plain2 \n").unwrap();
    succeeds(passwd(&["-U", "{}"], &file));
    let once = fs::read_to_string(&file).unwrap();
    assert!(once.starts_with("# staff\nann:$7$101$"), "{once}");
    let loaded = load(&file);
    assert!(loaded.check("ann", Some(b"plain1")) && loaded.check("ben", Some(b"plain2")));
    // A second run finds nothing to hash (mosquitto's #2211 would hash the hashes).
    succeeds(passwd(&["-U", "{}"], &file));
    assert_eq!(fs::read_to_string(&file).unwrap(), once);
}

#[test]
fn errors_exit_1_with_one_line() {
    let dir = TempDir::new();
    let file = dir.file("pw");
    fails_with(passwd(&["-b", "{}", "u", "p"], &file), "cannot read");
    fails_with(passwd(&["-D", "{}", "u"], &file), "cannot read");
    succeeds(passwd(&["-c", "-b", "{}", "u", "p"], &file));
    fails_with(passwd(&["-D", "{}", "nobody"], &file), "not found");
    fails_with(passwd(&["-b", "{}", "a:b", "p"], &file), "':'");
    fails_with(passwd(&["-b", "{}", "v", ""], &file), "must not be empty");
    fails_with(
        passwd(&["-H", "md5", "{}", "u"], &file),
        "unknown hash type",
    );
    fails_with(passwd(&["-c", "-D", "{}", "u"], &file), "-c and -D");
    fails_with(passwd(&[], &file), "expected 2 arguments");
    fs::write(&file, "u:hash\nno colon\n").unwrap();
    fails_with(
        passwd(&["-b", "{}", "v", "p"], &file),
        "corrupt password file at line 2",
    );
    // A failed edit leaves the file as it was.
    assert_eq!(fs::read_to_string(&file).unwrap(), "u:hash\nno colon\n");
}

#[test]
fn help_goes_to_standard_output() {
    let output = passwd(&["-h"], Path::new(""));
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("Usage: minibroker passwd"));
}

fn mosquitto_passwd(args: &[&str], file: &Path) -> Option<Output> {
    if !Path::new(MOSQUITTO_PASSWD).exists() {
        eprintln!("note: {MOSQUITTO_PASSWD} is not installed; skipping the interoperability test");
        return None;
    }
    let args = args.iter().map(|arg| {
        if *arg == "{}" {
            file.as_os_str()
        } else {
            arg.as_ref()
        }
    });
    Some(
        Command::new(MOSQUITTO_PASSWD)
            .args(args)
            .output()
            .expect("run mosquitto_passwd"),
    )
}

#[test]
fn a_file_made_by_mosquitto_passwd_verifies() {
    let dir = TempDir::new();
    let file = dir.file("pw");
    let Some(output) = mosquitto_passwd(&["-c", "-b", "{}", "seven", "pw7"], &file) else {
        return;
    };
    succeeds(output);
    for args in [
        &["-b", "-H", "sha512", "{}", "six", "pw6"][..],
        &["-b", "-I", "1000", "{}", "thousand", "pw1000"][..],
    ] {
        succeeds(mosquitto_passwd(args, &file).unwrap());
    }
    let loaded = load(&file);
    assert_eq!(loaded.len(), 3);
    assert!(loaded.check("seven", Some(b"pw7")));
    assert!(loaded.check("six", Some(b"pw6")));
    assert!(loaded.check("thousand", Some(b"pw1000")));
    assert!(!loaded.check("seven", Some(b"pw6")));
}

#[test]
fn a_file_we_write_is_accepted_by_mosquitto_passwd() {
    let dir = TempDir::new();
    let file = dir.file("pw");
    succeeds(passwd(&["-c", "-b", "{}", "ours", "first"], &file));
    succeeds(passwd(&["-b", "-H", "sha512", "{}", "old", "six"], &file));
    let Some(output) = mosquitto_passwd(&["-b", "{}", "theirs", "second"], &file) else {
        return;
    };
    // It reads every line of ours (a line it could not would be "corrupt"), then edits.
    succeeds(output);
    succeeds(mosquitto_passwd(&["-b", "{}", "ours", "changed"], &file).unwrap());
    succeeds(mosquitto_passwd(&["-D", "{}", "old"], &file).unwrap());
    assert_eq!(users(&file), ["ours", "theirs"]);
    let loaded = load(&file);
    assert!(loaded.check("ours", Some(b"changed")));
    assert!(loaded.check("theirs", Some(b"second")));
    // And we read its edits in turn.
    succeeds(passwd(&["-b", "{}", "theirs", "third"], &file));
    assert!(load(&file).check("theirs", Some(b"third")));
}
