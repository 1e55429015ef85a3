//! `minibroker passwd`: mosquitto_passwd's command line, around the pure edits of
//! `passwd_edit.rs`. This is the one part of `auth` that does I/O (the file, the terminal,
//! the operating system's random numbers), and only the binary calls it.
//!
//! ```text
//! minibroker passwd [-H sha512 | -H sha512-pbkdf2] [-I iterations] [-c | -D] FILE USER
//! minibroker passwd [-H ...] [-I iterations] [-c] -b FILE USER PASSWORD
//! minibroker passwd [-H ...] [-I iterations] -U FILE
//! ```
//! As mosquitto_passwd: PBKDF2 with 101 iterations by default, a 12-byte salt from the operating
//! system, the password asked twice without echo unless `-b`, exit status 1 on any error with a
//! one-line message. Options come before the file; the first other word ends them.
//!
//! Beyond it:
//! - The file is rewritten atomically: a temporary file in the same directory is written,
//!   fsynced, given the old file's permissions and owner, and renamed over it (mosquitto_passwd
//!   rewrites in place). A new file (`-c` where none exists) is created 0600. A symbolic link is
//!   followed, as mosquitto's `realpath` does, so the link stays a link.
//! - `-U` uses `-H` and `-I` and leaves hashed lines alone (see `passwd_edit.rs`).
//! - Extra words after the expected ones are an error rather than ignored.
//! - An iteration count above what the broker accepts by default gets a warning.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::hash::{DEFAULT_ITERATIONS, HashKind, PasswordHash, SALT_LEN};
use super::passwd_edit::{self, EditError};
use super::password_file::DEFAULT_MAX_ITERATIONS;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Help,
    Run(Options),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub file: PathBuf,
    pub kind: HashKind,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `-c`: a new file with this one user, replacing any old one.
    Create {
        user: String,
        password: Option<Vec<u8>>,
    },
    /// Add or update a user. `password` is `None` unless `-b`: then it is prompted for.
    Set {
        user: String,
        password: Option<Vec<u8>>,
    },
    /// `-D`
    Delete { user: String },
    /// `-U`
    Convert,
}

/// Why `minibroker passwd` failed: the one line it prints.
#[derive(Debug)]
pub enum PasswdError {
    /// The command line is wrong; the usage text follows the message.
    Usage(String),
    Edit(EditError),
    /// `what` names the step, `path` the file.
    Io {
        what: &'static str,
        path: PathBuf,
        error: io::Error,
    },
    Prompt(io::Error),
    PasswordsDiffer,
    Random(getrandom::Error),
}

impl fmt::Display for PasswdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswdError::Usage(message) => f.write_str(message),
            PasswdError::Edit(error) => error.fmt(f),
            PasswdError::Io { what, path, error } => {
                write!(f, "cannot {what} {}: {error}", path.display())
            }
            PasswdError::Prompt(error) => write!(f, "cannot read the password: {error}"),
            PasswdError::PasswordsDiffer => f.write_str("passwords do not match"),
            PasswdError::Random(error) => write!(f, "cannot get a random salt: {error}"),
        }
    }
}

impl std::error::Error for PasswdError {}

impl From<EditError> for PasswdError {
    fn from(error: EditError) -> PasswdError {
        PasswdError::Edit(error)
    }
}

pub fn usage() -> &'static str {
    "Usage: minibroker passwd [-H sha512 | -H sha512-pbkdf2] [-I iterations] [-c | -D] FILE USER\n\
     \x20      minibroker passwd [-H ...] [-I iterations] [-c] -b FILE USER PASSWORD\n\
     \x20      minibroker passwd [-H ...] [-I iterations] -U FILE\n\
     \x20-b : batch mode: the password is the last argument instead of being asked for.\n\
     \x20-c : create a new password file, replacing an existing one.\n\
     \x20-D : delete the user instead of adding or updating it.\n\
     \x20-H : the hash: sha512-pbkdf2 ($7$, the default) or sha512 ($6$, mosquitto 1.6).\n\
     \x20-I : PBKDF2 iterations (default 101).\n\
     \x20-U : hash the plain-text passwords of a file; hashed lines are left alone.\n"
}

/// Runs `minibroker passwd` with the arguments after `passwd`, and reports the outcome as
/// mosquitto_passwd does: 0, or 1 with one line on standard error.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let outcome = parse_args(args).and_then(|request| match request {
        Request::Help => {
            print!("{}", usage());
            Ok(())
        }
        Request::Run(options) => run(options),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("minibroker passwd: {error}");
            if let PasswdError::Usage(_) = error {
                eprint!("{}", usage());
            }
            ExitCode::FAILURE
        }
    }
}

/// Reads the command line, mosquitto_passwd's way.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Request, PasswdError> {
    let usage = |message: &str| PasswdError::Usage(message.to_owned());
    let mut args = args.into_iter().peekable();
    let (mut batch, mut create, mut delete, mut convert) = (false, false, false, false);
    let mut sha512 = false;
    let mut iterations = DEFAULT_ITERATIONS;
    while let Some(option) = args.peek().and_then(|arg| arg.to_str()).map(str::to_owned) {
        match option.as_str() {
            "-h" | "--help" => return Ok(Request::Help),
            "-b" => batch = true,
            "-c" => create = true,
            "-D" => delete = true,
            "-U" => convert = true,
            "-H" | "-I" => {
                let flag = option == "-H";
                args.next();
                let value = args.peek().and_then(|arg| arg.to_str());
                match (flag, value) {
                    (true, Some("sha512")) => sha512 = true,
                    (true, Some("sha512-pbkdf2")) => sha512 = false,
                    (true, Some(other)) => {
                        return Err(usage(&format!("unknown hash type {other:?}")));
                    }
                    (false, Some(count)) => {
                        iterations = count.parse().map_err(|_| {
                            usage(&format!(
                                "iterations must be a number above 0, not {count:?}"
                            ))
                        })?;
                    }
                    (_, None) => return Err(usage("-H and -I need a value")),
                }
            }
            _ => break,
        }
        args.next();
    }
    let conflicts = [
        (create && delete, "-c and -D cannot be used together"),
        (create && convert, "-c and -U cannot be used together"),
        (delete && convert, "-D and -U cannot be used together"),
        (delete && batch, "-b and -D cannot be used together"),
        (convert && batch, "-b and -U cannot be used together"),
    ];
    if let Some((_, message)) = conflicts.iter().find(|(conflict, _)| *conflict) {
        return Err(usage(message));
    }
    let words: Vec<OsString> = args.collect();
    let wanted = if convert {
        1
    } else if batch {
        3
    } else {
        2
    };
    if words.len() != wanted {
        return Err(usage(&format!(
            "expected {wanted} arguments after the options"
        )));
    }
    let mut words = words.into_iter();
    let file = PathBuf::from(words.next().unwrap_or_default());
    let user = words.next().map(username).transpose()?;
    let password = words.next().map(OsString::into_encoded_bytes);
    let kind = if sha512 {
        HashKind::Sha512
    } else {
        HashKind::Pbkdf2 { iterations }
    };
    let action = match user {
        None => Action::Convert,
        Some(user) if create => Action::Create { user, password },
        Some(user) if delete => Action::Delete { user },
        Some(user) => Action::Set { user, password },
    };
    Ok(Request::Run(Options { file, kind, action }))
}

fn username(arg: OsString) -> Result<String, PasswdError> {
    let user = arg
        .into_string()
        .map_err(|_| PasswdError::Usage("username must be UTF-8".to_owned()))?;
    passwd_edit::validate_username(&user)?;
    Ok(user)
}

/// Carries out a parsed command line.
pub fn run(options: Options) -> Result<(), PasswdError> {
    if options.kind.iterations() > DEFAULT_MAX_ITERATIONS {
        eprintln!(
            "minibroker passwd: warning: minibroker refuses entries with more than \
             {DEFAULT_MAX_ITERATIONS} iterations unless configured otherwise"
        );
    }
    let file = resolve(&options.file)?;
    let new_text = match options.action {
        Action::Create { user, password } => {
            let password = password_or_prompt(password)?;
            passwd_edit::create(&user, &new_hash(options.kind, &password)?)
        }
        Action::Set { user, password } => {
            // Read first, so a missing or corrupt file is reported before the prompt.
            let text = read(&file)?;
            passwd_edit::check(&text)?;
            let password = password_or_prompt(password)?;
            passwd_edit::set_user(&text, &user, &new_hash(options.kind, &password)?)?
        }
        Action::Delete { user } => passwd_edit::delete_user(&read(&file)?, &user)?,
        Action::Convert => {
            let convert = |password: &[u8]| new_hash(options.kind, password);
            passwd_edit::convert(&read(&file)?, convert)?.0
        }
    };
    write_atomically(&file, &new_text)
}

/// The file to write: a symbolic link's target, or the path itself if it does not exist yet.
fn resolve(path: &Path) -> Result<PathBuf, PasswdError> {
    match fs::canonicalize(path) {
        Ok(real) => Ok(real),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(path.to_owned()),
        Err(error) => Err(io_error("open", path, error)),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, PasswdError> {
    fs::read(path).map_err(|error| io_error("read", path, error))
}

fn password_or_prompt(password: Option<Vec<u8>>) -> Result<Vec<u8>, PasswdError> {
    let password = match password {
        Some(password) => password,
        None => {
            let first = rpassword::prompt_password("Password: ").map_err(PasswdError::Prompt)?;
            let second =
                rpassword::prompt_password("Reenter password: ").map_err(PasswdError::Prompt)?;
            if first != second {
                return Err(PasswdError::PasswordsDiffer);
            }
            first.into_bytes()
        }
    };
    passwd_edit::validate_password(&password)?;
    Ok(password)
}

fn new_hash(kind: HashKind, password: &[u8]) -> Result<PasswordHash, PasswdError> {
    let mut salt = [0; SALT_LEN];
    getrandom::fill(&mut salt).map_err(PasswdError::Random)?;
    Ok(PasswordHash::compute(kind, password, salt))
}

fn io_error(what: &'static str, path: &Path, error: io::Error) -> PasswdError {
    PasswdError::Io {
        what,
        path: path.to_owned(),
        error,
    }
}

/// Replaces `path` with `contents` so that a reader sees the old file or the new one, never a
/// mixture, and a crash leaves at worst a stray temporary file beside it.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), PasswdError> {
    let old = match fs::metadata(path) {
        Ok(metadata) => Some(metadata),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(io_error("read", path, error)),
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp{}", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let file = create_private(&temporary).map_err(|e| io_error("create", &temporary, e))?;
    let written = fill(file, contents, old.as_ref())
        .map_err(|e| io_error("write", &temporary, e))
        .and_then(|()| fs::rename(&temporary, path).map_err(|e| io_error("replace", path, e)));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
        return written;
    }
    // Make the rename itself durable. Not every filesystem can sync a directory, and the file
    // is already in place, so a failure here is not worth reporting.
    if let Some(directory) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let _ = File::open(directory).and_then(|dir| dir.sync_all());
    }
    Ok(())
}

/// Creates a file only its owner can read, failing if the name is taken.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes the contents, gives the file the old one's mode and owner, and syncs it.
fn fill(mut file: File, contents: &[u8], old: Option<&fs::Metadata>) -> io::Result<()> {
    file.write_all(contents)?;
    if let Some(old) = old {
        file.set_permissions(old.permissions())?;
        #[cfg(unix)]
        keep_owner(&file, old)?;
    }
    file.sync_all()
}

/// Keeps the old file's owner and group: a file that root edits for the broker's own user must
/// stay readable by that user.
#[cfg(unix)]
fn keep_owner(file: &File, old: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let new = file.metadata()?;
    if (new.uid(), new.gid()) == (old.uid(), old.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))
}

#[cfg(test)]
mod tests;
