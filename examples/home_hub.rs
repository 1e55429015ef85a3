//! A home hub with minibroker inside it: the program reads its sensors (a simulated serial
//! bus here), publishes their readings, switches lights on commands, and decides itself who
//! may log in, from its own user table. Dashboards and Home Assistant connect to it over MQTT
//! as they would to mosquitto.
//!
//! ```text
//! cargo run --example home_hub -- --port 1883
//! mosquitto_sub -p 1883 -u dashboard -P wohnzimmer -t 'Erdgeschoss/#' -v
//! mosquitto_pub -p 1883 -u homeassistant -P ha-secret -t hub/cmd/light/kitchen -m on
//! ```
//!
//! Options: `--port PORT` (default 1883, 0 for any free port), `--bind ADDRESS` (default
//! 127.0.0.1), `--interval-ms MS` between readings (default 1000). SIGINT or SIGTERM stops it.

use std::error::Error;
use std::net::{IpAddr, SocketAddr};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use minibroker::embed::{ClientInfo, ConnectRequest, Publication, Verdict};
use minibroker::protocol::{QoS, ReasonCode};
use minibroker::{BrokerBuilder, BrokerHandle};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The hub's own users: name, password, and whether they may send commands.
const USERS: [(&str, &str, bool); 2] = [
    ("dashboard", "wohnzimmer", false),
    ("homeassistant", "ha-secret", true),
];
/// Where the sensor readings go, retained so a dashboard shows them as soon as it subscribes.
const READING_TOPIC: &str = "Erdgeschoss/Wohnzimmer/Temp";
/// Commands to the lights: `hub/cmd/light/<room>` with `on` or `off`.
const COMMAND_FILTER: &str = "hub/cmd/light/+";
/// The lights' states: `hub/state/light/<room>`, retained.
const STATE_PREFIX: &str = "hub/state/light/";

/// The running hub: the broker, the sensor thread and the command thread.
struct Hub {
    broker: BrokerHandle,
    sensors: JoinHandle<()>,
    commands: JoinHandle<()>,
}

fn user(name: Option<&str>) -> Option<&'static (&'static str, &'static str, bool)> {
    USERS.iter().find(|(user, _, _)| Some(*user) == name)
}

/// A login is accepted when the user is in the table with this password.
fn authenticate(request: &ConnectRequest<'_>) -> Verdict {
    match user(request.client.username) {
        Some((_, password, _)) if request.password == Some(password.as_bytes()) => Verdict::Allow,
        _ => Verdict::Deny(ReasonCode::BAD_USER_NAME_OR_PASSWORD),
    }
}

/// Everyone may publish, but only users allowed to command may publish commands.
fn authorize_publish(client: &ClientInfo<'_>, topic: &str, _: QoS, _: bool) -> Verdict {
    let commanding = topic.starts_with("hub/cmd/");
    match user(client.username) {
        Some((_, _, may_command)) if *may_command || !commanding => Verdict::Allow,
        _ => Verdict::Deny(ReasonCode::NOT_AUTHORIZED),
    }
}

/// One reading of the simulated serial bus: a temperature drifting around 21 °C.
fn read_sensor(step: u32) -> String {
    let tenths = 210 + (step % 7) as i32 - 3;
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn start(bind: SocketAddr, interval: Duration) -> Result<Hub, Box<dyn Error>> {
    let broker = BrokerBuilder::new()
        .listen(bind)
        .authenticate(authenticate)
        .authorize_publish(authorize_publish)
        .build()?;
    // Asked for before the broker runs, so it is in place before the first client is served:
    // no command sent right after the hub starts is missed.
    let commands = broker
        .handle()
        .subscribe(COMMAND_FILTER, QoS::AtLeastOnce)?;
    let broker = broker.spawn();
    let states = broker.clone();
    let commands = thread::spawn(move || {
        // Ends when the broker stops.
        for command in commands.iter() {
            let room = command.topic.rsplit('/').next().unwrap_or_default();
            let state = match &*command.payload {
                b"on" => "on",
                b"off" => "off",
                other => {
                    log::warn!(
                        "unknown command {:?} for {room}",
                        String::from_utf8_lossy(other)
                    );
                    continue;
                }
            };
            log::info!("light {room}: {state}");
            let topic = format!("{STATE_PREFIX}{room}");
            let publication = Publication::new(topic, state)
                .qos(QoS::AtLeastOnce)
                .retain(true);
            if states.publish(publication).is_err() {
                break;
            }
        }
    });

    let readings = broker.clone();
    let sensors = thread::spawn(move || {
        for step in 0.. {
            let reading = Publication::new(READING_TOPIC, read_sensor(step))
                .qos(QoS::AtLeastOnce)
                .retain(true);
            if readings.publish(reading).is_err() {
                break; // the broker stopped
            }
            thread::sleep(interval);
        }
    });
    Ok(Hub {
        broker,
        sensors,
        commands,
    })
}

impl Hub {
    fn stop(self) -> Result<(), Box<dyn Error>> {
        self.broker.stop()?;
        let _ = self.sensors.join();
        let _ = self.commands.join();
        Ok(())
    }
}

struct Options {
    bind: SocketAddr,
    interval: Duration,
}

fn options() -> Result<Options, String> {
    let mut ip: IpAddr = "127.0.0.1".parse().map_err(|_| "bad default address")?;
    let mut port = 1883;
    let mut interval = Duration::from_secs(1);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--port" => {
                port = value
                    .parse()
                    .map_err(|_| format!("--port: bad port {value}"))?
            }
            "--bind" => {
                ip = value
                    .parse()
                    .map_err(|_| format!("--bind: bad address {value}"))?
            }
            "--interval-ms" => {
                let ms = value
                    .parse()
                    .map_err(|_| format!("--interval-ms: bad number {value}"))?;
                interval = Duration::from_millis(ms);
            }
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    Ok(Options {
        bind: SocketAddr::new(ip, port),
        interval,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = options().map_err(|e| {
        eprintln!("home_hub: {e}");
        std::process::exit(2)
    })?;
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let hub = start(options.bind, options.interval)?;
    log::info!("home hub running; readings on {READING_TOPIC}, commands on {COMMAND_FILTER}");
    let _ = signals.forever().next();
    log::info!("stopping");
    hub.stop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_published_and_commands_switch_lights() -> Result<(), Box<dyn Error>> {
        let hub = start("127.0.0.1:0".parse()?, Duration::from_millis(10))?;
        let watch = hub.broker.subscribe("#", QoS::AtLeastOnce)?;
        watch.wait_ready(Duration::from_secs(5))?;
        let reading = watch.recv_timeout(Duration::from_secs(5))?;
        assert_eq!(&*reading.topic, READING_TOPIC);
        let value: f32 = std::str::from_utf8(&reading.payload)?.parse()?;
        assert!((20.0..22.0).contains(&value), "{value}");
        hub.broker
            .publish(Publication::new("hub/cmd/light/kitchen", "on").qos(QoS::AtLeastOnce))?;
        let state = watch
            .iter()
            .find(|m| m.topic.starts_with(STATE_PREFIX))
            .ok_or("no state")?;
        assert_eq!(
            (&*state.topic, &*state.payload),
            ("hub/state/light/kitchen", &b"on"[..])
        );
        hub.stop()
    }

    #[test]
    fn the_user_table_decides() {
        let info = |username| ClientInfo {
            client_id: "c",
            username,
            address: None,
            tls: false,
            listener: 0,
        };
        let login = |username, password: &'static [u8]| {
            authenticate(&ConnectRequest {
                client: info(username),
                password: Some(password),
            })
        };
        assert_eq!(login(Some("dashboard"), b"wohnzimmer"), Verdict::Allow);
        assert_ne!(login(Some("dashboard"), b"wrong"), Verdict::Allow);
        assert_ne!(login(None, b""), Verdict::Allow);
        let command = "hub/cmd/light/hall";
        let publish = |user| authorize_publish(&info(user), command, QoS::AtMostOnce, false);
        assert_eq!(publish(Some("homeassistant")), Verdict::Allow);
        assert_ne!(publish(Some("dashboard")), Verdict::Allow);
    }
}
