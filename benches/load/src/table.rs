//! The comparison table: medians per broker of the JSON lines of many runs, as markdown.

use std::collections::BTreeMap;
use std::fs;
use std::io;

use crate::protocol::Protocol;
use crate::report::human_number;

/// Which way a figure is better.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

/// The figures shown per scenario, in order, with their meaning.
const FIGURES: &[(&str, &str, &str, Better)] = &[
    (
        "fanin",
        "published_per_s",
        "published msg/s",
        Better::Higher,
    ),
    (
        "fanin",
        "delivered_per_s",
        "delivered msg/s",
        Better::Higher,
    ),
    (
        "fanin",
        "delivered_per_cpu_s",
        "delivered msg per broker CPU-s",
        Better::Higher,
    ),
    ("fanin", "loss_pct", "lost %", Better::Lower),
    ("fanout", "deliveries_per_s", "deliveries/s", Better::Higher),
    (
        "fanout",
        "deliveries_per_cpu_s",
        "deliveries per broker CPU-s",
        Better::Higher,
    ),
    (
        "fanout",
        "slowest_share",
        "slowest subscriber / mean",
        Better::Higher,
    ),
    ("latency", "p50_us", "p50 µs", Better::Lower),
    ("latency", "p99_us", "p99 µs", Better::Lower),
    ("latency", "p999_us", "p99.9 µs", Better::Lower),
    ("latency", "max_us", "max µs", Better::Lower),
    (
        "latency",
        "delivered_per_cpu_s",
        "msg per broker CPU-s",
        Better::Higher,
    ),
    ("conns", "connects_per_s", "connects/s", Better::Higher),
    (
        "conns",
        "connects_per_cpu_s",
        "connects per broker CPU-s",
        Better::Higher,
    ),
    ("conns", "rss_before_kb", "RSS before, KiB", Better::Lower),
    (
        "conns",
        "rss_after_kb",
        "RSS with all idle, KiB",
        Better::Lower,
    ),
    (
        "conns",
        "bytes_per_conn",
        "bytes per idle connection",
        Better::Lower,
    ),
    ("conns", "idle_cpu_ms_per_s", "idle CPU ms/s", Better::Lower),
    ("subs", "subscribe_s", "time to subscribe, s", Better::Lower),
    ("subs", "delivered_per_s", "delivered msg/s", Better::Higher),
    (
        "subs",
        "delivered_per_cpu_s",
        "delivered msg per broker CPU-s",
        Better::Higher,
    ),
    (
        "retained",
        "drain_s",
        "time to the last retained msg, s",
        Better::Lower,
    ),
    (
        "retained",
        "received_pct",
        "retained msgs received %",
        Better::Higher,
    ),
    (
        "retained",
        "rss_before_kb",
        "RSS holding them, KiB",
        Better::Lower,
    ),
    (
        "retained",
        "rss_peak_kb",
        "peak RSS while sending, KiB",
        Better::Lower,
    ),
    ("offline", "published_per_s", "queued msg/s", Better::Higher),
    (
        "offline",
        "published_per_cpu_s",
        "queued msg per broker CPU-s",
        Better::Higher,
    ),
    ("offline", "drained_per_s", "drained msg/s", Better::Higher),
    ("offline", "loss_pct", "acknowledged, lost %", Better::Lower),
    ("burst", "published_per_s", "accepted msg/s", Better::Higher),
    ("burst", "rss_before_kb", "RSS before, KiB", Better::Lower),
    (
        "burst",
        "rss_peak_kb",
        "peak RSS, upstream down, KiB",
        Better::Lower,
    ),
];

/// The broker every other is compared with, and the one it is compared against.
const SUBJECT: &str = "minibroker";
const BASELINE: &str = "mosquitto";

type Line = BTreeMap<String, Field>;

#[derive(Clone, Debug, PartialEq)]
enum Field {
    Num(f64),
    Text(String),
}

pub fn print(files: &[String]) -> io::Result<()> {
    let mut lines = Vec::new();
    for file in files {
        for text in fs::read_to_string(file)?.lines() {
            if let Some(line) = parse_line(text.trim()) {
                lines.push(line);
            }
        }
    }
    print!("{}", render(&lines));
    Ok(())
}

fn text<'a>(line: &'a Line, key: &str) -> &'a str {
    match line.get(key) {
        Some(Field::Text(t)) => t,
        _ => "",
    }
}

fn render(lines: &[Line]) -> String {
    // Brokers in order of appearance, with the subject and the baseline first.
    let mut brokers: Vec<&str> = Vec::new();
    for line in lines {
        let b = text(line, "broker");
        if !brokers.contains(&b) {
            brokers.push(b);
        }
    }
    brokers.sort_by_key(|b| (*b != SUBJECT, *b != BASELINE));
    let mut cases: Vec<(&str, &str)> = Vec::new();
    for line in lines {
        let case = (text(line, "scenario"), text(line, "case"));
        if !cases.contains(&case) {
            cases.push(case);
        }
    }
    let mut out = String::from("| scenario | figure | better |");
    for b in &brokers {
        out.push_str(&format!(" {b} |"));
    }
    out.push_str(&format!(" {SUBJECT}/{BASELINE} |\n|---|---|---|"));
    out.push_str(&"---:|".repeat(brokers.len() + 1));
    out.push('\n');
    let mut load_bound = false;
    for (scenario, case) in cases {
        for (s, key, name, better) in FIGURES {
            if *s != scenario {
                continue;
            }
            let medians: Vec<Option<(f64, bool)>> = brokers
                .iter()
                .map(|b| median(lines, scenario, case, b, key))
                .collect();
            if medians.iter().all(Option::is_none) {
                continue;
            }
            let arrow = if *better == Better::Higher {
                "higher"
            } else {
                "lower"
            };
            out.push_str(&format!("| {scenario} {case} | {name} | {arrow} |"));
            for m in &medians {
                match m {
                    Some((v, bound)) => {
                        load_bound |= *bound;
                        let mark = if *bound { " †" } else { "" };
                        out.push_str(&format!(" {}{mark} |", human_number(*v)));
                    }
                    None => out.push_str(" - |"),
                }
            }
            let value = |name: &str| {
                brokers
                    .iter()
                    .position(|b| *b == name)
                    .and_then(|i| medians[i])
                    .map(|(v, _)| v)
            };
            match (value(SUBJECT), value(BASELINE)) {
                (Some(a), Some(b)) if b != 0.0 => out.push_str(&format!(" {:.2} |\n", a / b)),
                _ => out.push_str(" - |\n"),
            }
        }
        out.push_str(&version_rows(lines, &brokers, scenario, case));
    }
    if load_bound {
        out.push_str(
            "\n† the load generator used over 90% of a core in at least one of these runs.\n",
        );
    }
    out
}

/// For a case run in MQTT 5, each broker's rates over its own rates in the same case in MQTT
/// 3.1.1: what the newer protocol costs that broker.
fn version_rows(lines: &[Line], brokers: &[&str], scenario: &str, case: &str) -> String {
    let Some(base) = v311_case(case) else {
        return String::new();
    };
    let is_rate = |key: &str| key.ends_with("_per_s") || key.ends_with("_per_cpu_s");
    let mut out = String::new();
    for (s, key, name, _) in FIGURES {
        if *s != scenario || !is_rate(key) {
            continue;
        }
        let ratios: Vec<Option<f64>> = brokers
            .iter()
            .map(|b| {
                let v5 = median(lines, scenario, case, b, key)?.0;
                let v311 = median(lines, scenario, &base, b, key)?.0;
                (v311 != 0.0).then(|| v5 / v311)
            })
            .collect();
        if ratios.iter().all(Option::is_none) {
            continue;
        }
        out.push_str(&format!(
            "| {scenario} {case} | {name}, v5 / v3.1.1 | higher |"
        ));
        for ratio in ratios {
            match ratio {
                Some(r) => out.push_str(&format!(" {r:.2} |")),
                None => out.push_str(" - |"),
            }
        }
        out.push_str(" - |\n");
    }
    out
}

/// The MQTT 3.1.1 case an MQTT 5 case is compared with, if it is one: the same name without
/// the protocol tag.
fn v311_case(case: &str) -> Option<String> {
    [true, false]
        .map(|topic_aliases| Protocol::V5 { topic_aliases }.tag())
        .into_iter()
        .find(|tag| case.contains(tag))
        .map(|tag| case.replacen(tag, "", 1))
}

/// The median of a figure over the runs of one broker, and whether any run was load-bound.
fn median(
    lines: &[Line],
    scenario: &str,
    case: &str,
    broker: &str,
    key: &str,
) -> Option<(f64, bool)> {
    let runs: Vec<&Line> = lines
        .iter()
        .filter(|l| {
            text(l, "scenario") == scenario
                && text(l, "case") == case
                && text(l, "broker") == broker
        })
        .collect();
    let mut values: Vec<f64> = runs
        .iter()
        .filter_map(|l| match l.get(key) {
            Some(Field::Num(n)) if n.is_finite() => Some(*n),
            _ => None,
        })
        .collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    let median = if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    };
    let bound = runs.iter().any(|l| l.contains_key("load_bound"));
    Some((median, bound))
}

/// Reads one flat JSON object as `report.rs` writes it; anything else is skipped.
fn parse_line(text: &str) -> Option<Line> {
    let mut rest = text.strip_prefix('{')?.strip_suffix('}')?.trim();
    let mut line = Line::new();
    while !rest.is_empty() {
        let (key, after) = parse_string(rest)?;
        let after = after.trim_start().strip_prefix(':')?.trim_start();
        let (value, after) = if after.starts_with('"') {
            let (s, after) = parse_string(after)?;
            (Some(Field::Text(s)), after)
        } else {
            let end = after.find(',').unwrap_or(after.len());
            let raw = after[..end].trim();
            (raw.parse().ok().map(Field::Num), &after[end..])
        };
        if let Some(value) = value {
            line.insert(key, value);
        }
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    line.contains_key("scenario").then_some(line)
}

/// A string in double quotes with `\"` and `\\` escapes; returns it and what follows.
fn parse_string(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &text[i + 2..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_reports_write() {
        let line = parse_line(r#"{"scenario":"fanin","case":"a \"b\"","x":1.5,"y":null}"#).unwrap();
        assert_eq!(line["case"], Field::Text("a \"b\"".to_owned()));
        assert_eq!(line["x"], Field::Num(1.5));
        assert!(!line.contains_key("y"));
        assert!(parse_line("warning: not json").is_none());
    }

    #[test]
    fn medians_and_ratio() {
        let lines: Vec<Line> = [
            r#"{"scenario":"latency","case":"c","broker":"mosquitto","p50_us":40}"#,
            r#"{"scenario":"latency","case":"c","broker":"minibroker","p50_us":10}"#,
            r#"{"scenario":"latency","case":"c","broker":"minibroker","p50_us":30}"#,
            r#"{"scenario":"latency","case":"c","broker":"minibroker","p50_us":20}"#,
        ]
        .iter()
        .filter_map(|t| parse_line(t))
        .collect();
        let table = render(&lines);
        assert!(
            table.contains("| latency c | p50 µs | lower | 20 | 40 | 0.50 |"),
            "{table}"
        );
    }

    #[test]
    fn mqtt5_rates_are_compared_with_the_same_broker_in_mqtt_3_1_1() {
        let lines: Vec<Line> = [
            r#"{"scenario":"fanin","case":"q (x)","broker":"minibroker","delivered_per_s":100}"#,
            r#"{"scenario":"fanin","case":"q (x)","broker":"mosquitto","delivered_per_s":10}"#,
            r#"{"scenario":"fanin","case":"q v5 + topic aliases (x)","broker":"minibroker","delivered_per_s":110}"#,
            r#"{"scenario":"fanin","case":"q v5 + topic aliases (x)","broker":"mosquitto","delivered_per_s":9}"#,
        ]
        .iter()
        .filter_map(|t| parse_line(t))
        .collect();
        let table = render(&lines);
        let row = "| fanin q v5 + topic aliases (x) | delivered msg/s, v5 / v3.1.1 | higher | 1.10 | 0.90 | - |";
        assert!(table.contains(row), "{table}");
        assert!(
            !table.contains("| fanin q (x) | delivered msg/s, v5"),
            "{table}"
        );
    }
}
