//! Plain GET requests on a WebSockets listener with `http_dir`: the request target turned into
//! a path inside that folder, or refused, and the headers of the answer. The file system is the
//! caller's (it also resolves links and checks the result is still inside the folder, as
//! mosquitto does with realpath); this part only decides what the target names.

use std::path::PathBuf;

use super::HttpError;

/// The file a request target names, relative to `http_dir`: the query and fragment dropped,
/// percent-escapes decoded, `index.html` for a target ending in `/`. A target that is not an
/// absolute path, that climbs out (`..`), or that holds a NUL or a backslash is refused as
/// not found, so nothing tells a prober what exists outside.
pub fn file_for(target: &str) -> Result<PathBuf, HttpError> {
    let not_found = || HttpError::NotFound(target.to_string());
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_decode(path).ok_or_else(not_found)?;
    let Some(rest) = decoded.strip_prefix('/') else {
        return Err(not_found());
    };
    let mut file = PathBuf::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(not_found()),
            _ if part.contains(['\0', '\\']) => return Err(not_found()),
            _ => file.push(part),
        }
    }
    if rest.is_empty() || rest.ends_with('/') {
        file.push("index.html");
    }
    Ok(file)
}

/// `%XX` escapes decoded; `None` for a broken escape or a result that is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hi = char::from(bytes.next()?).to_digit(16)?;
        let lo = char::from(bytes.next()?).to_digit(16)?;
        out.push(u8::try_from(hi * 16 + lo).ok()?);
    }
    String::from_utf8(out).ok()
}

/// The Content-Type for a file name's extension; what a browser needs for a small web app.
pub fn content_type(file: &std::path::Path) -> &'static str {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The status line and headers of a file's answer; its `len` bytes follow (not for HEAD).
pub fn file_headers(file: &std::path::Path, len: u64) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        content_type(file)
    )
    .into_bytes()
}

/// A folder asked for without its trailing `/`: sent on to the same target with one, so
/// the page's relative links resolve inside it (mosquitto answers the same way).
pub fn redirect(target: &str) -> Vec<u8> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    // The target was checked by `file_for`; a CR or LF cannot be in it (httparse refuses them).
    format!(
        "HTTP/1.1 302 Found\r\nLocation: {path}/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn targets_map_to_files_inside_the_folder() {
        let ok = |t: &str| file_for(t).unwrap();
        assert_eq!(ok("/"), PathBuf::from("index.html"));
        assert_eq!(ok("/app/"), PathBuf::from("app/index.html"));
        assert_eq!(ok("/app/main.js?v=3#x"), PathBuf::from("app/main.js"));
        assert_eq!(ok("/a%20b.html"), PathBuf::from("a b.html"));
        assert_eq!(ok("//./x.css"), PathBuf::from("x.css"));
    }

    #[test]
    fn targets_that_climb_out_are_not_found() {
        for target in [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/a%2f..%2f..%2fetc",
            "/x%00.html",
            "/a\\..\\b",
            "relative.html",
            "/%zz",
            "/%c3",
        ] {
            assert!(
                matches!(file_for(target), Err(HttpError::NotFound(_))),
                "{target}"
            );
        }
    }

    #[test]
    fn content_types_and_headers() {
        assert_eq!(
            content_type(Path::new("a/INDEX.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("mqtt.min.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("blob")), "application/octet-stream");
        let headers = String::from_utf8(file_headers(Path::new("x.txt"), 5)).unwrap();
        assert!(headers.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(headers.contains("Content-Length: 5\r\n"));
        assert!(headers.ends_with("\r\n\r\n"));
        let moved = String::from_utf8(redirect("/app?x=1")).unwrap();
        assert!(moved.contains("Location: /app/\r\n"), "{moved}");
    }
}
