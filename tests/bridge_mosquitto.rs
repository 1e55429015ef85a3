//! The bridge scenarios of `tests/bridge.rs` against Debian's mosquitto as the upstream, started
//! by each test on its own port with its own configuration. Skipped, saying so, when
//! /usr/sbin/mosquitto is not installed (`make test` installs it when run as root).

mod common;

use common::bridging::{self, Kind};

#[test]
fn out_in_and_both_with_prefixes_at_each_qos() {
    if !bridging::available(Kind::Mosquitto) {
        return;
    }
    bridging::out_in_and_both_with_prefixes_at_each_qos(Kind::Mosquitto);
}

#[test]
fn unreachable_at_start_then_queued_and_retained_messages_arrive_on_connect() {
    if !bridging::available(Kind::Mosquitto) {
        return;
    }
    bridging::unreachable_at_start_then_queued_and_retained_messages_arrive_on_connect(
        Kind::Mosquitto,
    );
}

#[test]
fn the_upstream_killed_and_restarted_gets_every_qos1_message_in_order() {
    if !bridging::available(Kind::Mosquitto) {
        return;
    }
    bridging::the_upstream_killed_and_restarted_gets_every_qos1_message_in_order(Kind::Mosquitto);
}

#[test]
fn a_refused_connect_is_logged_with_its_code_and_retried() {
    if !bridging::available(Kind::Mosquitto) {
        return;
    }
    bridging::a_refused_connect_is_logged_with_its_code_and_retried(Kind::Mosquitto);
}

#[test]
fn an_mqtt5_bridge_connects_in_mqtt5_and_uses_no_local() {
    if !bridging::available(Kind::Mosquitto) {
        return;
    }
    bridging::an_mqtt5_bridge_connects_in_mqtt5_and_uses_no_local(Kind::Mosquitto);
}

#[test]
fn notifications_say_1_when_up_and_0_when_down_on_both_sides() {
    if !bridging::available(Kind::Mosquitto) {
        return;
    }
    bridging::notifications_say_1_when_up_and_0_when_down_on_both_sides(Kind::Mosquitto);
}

#[cfg(feature = "tls")]
#[test]
fn tls_to_the_upstream_with_a_ca_file() {
    if !bridging::available(Kind::Mosquitto) {
        return;
    }
    bridging::tls_to_the_upstream_with_a_ca_file(Kind::Mosquitto);
}

#[test]
fn queued_messages_survive_a_restart_of_the_home_broker() {
    if !bridging::available(Kind::Mosquitto) {
        return;
    }
    bridging::queued_messages_survive_a_restart_of_the_home_broker(Kind::Mosquitto);
}
