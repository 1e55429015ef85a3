//! A scenario's result: one human-readable line and one JSON line on stdout.
//!
//! The JSON is flat (strings and numbers only) so `table.rs` and shell scripts can read it back
//! without a JSON library.

use crate::procstat::CpuUse;

/// Above this share of one core the generator, not the broker, may have set the pace.
const LOAD_BOUND_SHARE: f64 = 0.9;

enum Value {
    Num(f64),
    Text(String),
}

pub struct Report {
    fields: Vec<(String, Value)>,
    warnings: Vec<String>,
}

impl Report {
    /// `case` names the variant run (`qos1 p8 t8 64B`), so rows of a table can be matched up.
    pub fn new(scenario: &str, case: String, label: Option<&str>) -> Report {
        let mut report = Report {
            fields: Vec::new(),
            warnings: Vec::new(),
        };
        report.text("scenario", scenario);
        report.text("case", &case);
        if let Some(label) = label {
            report.text("broker", label);
        }
        report
    }

    pub fn text(&mut self, key: &str, value: &str) {
        self.fields
            .push((key.to_owned(), Value::Text(value.to_owned())));
    }

    pub fn num(&mut self, key: &str, value: f64) {
        self.fields.push((key.to_owned(), Value::Num(value)));
    }

    /// `<name>_per_s` over the wall clock and, when the broker's CPU was sampled,
    /// `<name>_per_cpu_s` over its CPU time.
    pub fn rate(&mut self, name: &str, count: u64, cpu: &CpuUse) {
        self.num(&format!("{name}_per_s"), count as f64 / cpu.wall.max(1e-9));
        if let Some(broker) = cpu.broker.filter(|s| *s > 0.0) {
            self.num(&format!("{name}_per_cpu_s"), count as f64 / broker);
        }
    }

    /// The CPU seconds of broker and generator, with a warning when the generator was the
    /// bottleneck.
    pub fn cpu(&mut self, cpu: &CpuUse) {
        self.num("wall_s", cpu.wall);
        if let Some(broker) = cpu.broker {
            self.num("broker_cpu_s", broker);
        }
        if let Some(load) = cpu.load {
            self.num("load_cpu_s", load);
            let share = load / cpu.wall.max(1e-9);
            if share > LOAD_BOUND_SHARE {
                self.num("load_bound", 1.0);
                self.warn(format!(
                    "the load generator used {:.0}% of a core: it may have been the bottleneck",
                    share * 100.0
                ));
            }
        }
    }

    pub fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    pub fn print(&self) {
        for warning in &self.warnings {
            println!("warning: {warning}");
        }
        println!("{}", self.human());
        println!("{}", self.json());
    }

    fn human(&self) -> String {
        let mut line = String::new();
        for (key, value) in &self.fields {
            match (key.as_str(), value) {
                ("scenario" | "case" | "broker", Value::Text(t)) => {
                    line.push_str(t);
                    line.push(' ');
                }
                (_, Value::Text(t)) => line.push_str(&format!("| {key} {t} ")),
                (_, Value::Num(n)) => line.push_str(&format!("| {key} {} ", human_number(*n))),
            }
        }
        line.trim_end().to_owned()
    }

    fn json(&self) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|(key, value)| match value {
                Value::Text(t) => format!("\"{key}\":\"{}\"", escape(t)),
                Value::Num(n) if n.is_finite() => format!("\"{key}\":{}", json_number(*n)),
                Value::Num(_) => format!("\"{key}\":null"),
            })
            .collect();
        format!("{{{}}}", parts.join(","))
    }
}

fn json_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:.3}")
    }
}

/// Whole numbers with thousands separators, small fractions with three decimals.
pub fn human_number(n: f64) -> String {
    if !n.is_finite() {
        return "-".to_owned();
    }
    if n.abs() >= 100.0 || n.fract() == 0.0 {
        let digits = format!("{:.0}", n.abs());
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0.0 {
            out.insert(0, '-');
        }
        out
    } else {
        format!("{n:.3}")
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_flat_and_numbers_are_plain() {
        let mut r = Report::new("fanin", "qos1 \"x\"".to_owned(), Some("mosquitto"));
        r.num("loss", 0.0);
        r.num("p50_us", 12.5);
        assert_eq!(
            r.json(),
            r#"{"scenario":"fanin","case":"qos1 \"x\"","broker":"mosquitto","loss":0,"p50_us":12.500}"#
        );
    }

    #[test]
    fn human_numbers_have_separators() {
        assert_eq!(human_number(1234567.4), "1,234,567");
        assert_eq!(human_number(0.25), "0.250");
        assert_eq!(human_number(-1000.0), "-1,000");
    }
}
