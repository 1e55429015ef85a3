//! A bridge's `topic` lines (mosquitto's bridge_topic.c): the pattern, the direction, the
//! QoS and the two prefixes, checked so the bridging issue gets only valid filters.

use crate::config::{Bridge, BridgeDirection, BridgeTopic};
use crate::topic::{TopicFilter, TopicName};

use super::error::ErrorKind;
use super::lexer::{self, Args, invalid};

/// `topic PATTERN [[[out|in|both] QOS] LOCAL_PREFIX REMOTE_PREFIX]`.
pub(super) fn topic(bridge: &mut Bridge, args: &mut Args<'_>) -> Result<(), ErrorKind> {
    let pattern = lexer::word(args, "topic")?;
    let pattern = if pattern == "\"\"" { "" } else { pattern };
    let mut topic = BridgeTopic {
        pattern: pattern.to_string(),
        direction: BridgeDirection::Out,
        qos: 0,
        local_prefix: None,
        remote_prefix: None,
    };
    if let Some(word) = args.word() {
        topic.direction = match word.to_ascii_lowercase().as_str() {
            "out" => BridgeDirection::Out,
            "in" => BridgeDirection::In,
            "both" => BridgeDirection::Both,
            _ => {
                return Err(invalid(
                    "bridge topic direction",
                    word,
                    Some("expected out, in or both"),
                ));
            }
        };
        let mut rest = std::iter::from_fn(|| args.word()).take_while(|w| !w.starts_with('#'));
        if let Some(qos) = rest.next() {
            topic.qos = lexer::parse_integer(qos)
                .and_then(|q| u8::try_from(q).ok())
                .filter(|&q| q <= 2)
                .ok_or_else(|| invalid("bridge QoS", qos, Some("must be 0, 1 or 2")))?;
        }
        let prefix = |word: Option<&str>| word.filter(|w| *w != "\"\"").map(str::to_string);
        topic.local_prefix = prefix(rest.next());
        topic.remote_prefix = prefix(rest.next());
    }
    check_topic(&topic)?;
    bridge.topics.push(topic);
    Ok(())
}

/// Prefixes are topics without wildcards; each side's full filter must be a valid filter.
fn check_topic(topic: &BridgeTopic) -> Result<(), ErrorKind> {
    for (side, prefix) in [
        ("local", &topic.local_prefix),
        ("remote", &topic.remote_prefix),
    ] {
        if let Some(prefix) = prefix
            && TopicName::parse(prefix).is_err()
        {
            let option = format!("bridge topic {side} prefix");
            return Err(invalid(
                &option,
                prefix,
                Some("it must be a topic without wildcards"),
            ));
        }
        let full = format!("{}{}", prefix.as_deref().unwrap_or(""), topic.pattern);
        if TopicFilter::parse(&full).is_err() {
            return Err(invalid(
                "bridge topic",
                &full,
                Some("not a valid topic filter"),
            ));
        }
    }
    Ok(())
}
