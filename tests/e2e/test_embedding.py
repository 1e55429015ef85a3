"""An embedded broker against paho-mqtt and the mosquitto clients: the `home_hub` example
(examples/home_hub.rs) runs minibroker inside itself, publishes sensor readings from the host
program, switches lights on commands it receives through its own subscription, and logs users
in from its own table through the authenticate hook."""

import shutil
import subprocess

import pytest

from conftest import REPO_ROOT, _run_broker
from paho_client import TestClient

HUB_BIN = REPO_ROOT / "target" / "debug" / "examples" / "home_hub"


@pytest.fixture
def hub(request):
    yield from _run_broker(request, ["--port", "0", "--interval-ms", "50"], program=HUB_BIN)


def _login(hub, client_id, user, password):
    client = TestClient(hub.host, hub.port, client_id)
    client.paho.username_pw_set(user, password)
    return client


def test_a_dashboard_receives_the_readings_the_host_publishes(hub):
    dashboard = _login(hub, "dashboard", "dashboard", "wohnzimmer")
    dashboard.connect()
    dashboard.subscribe("Erdgeschoss/#", qos=1)
    # The retained reading, then the ones the host publishes every 50 ms (a new reading can
    # overtake the retained copy of the old one, so which comes first is not asserted).
    messages = dashboard.wait_messages(3)
    assert all(m.topic == "Erdgeschoss/Wohnzimmer/Temp" for m in messages)
    assert all(20.0 <= float(m.payload) < 22.0 for m in messages)
    assert all(m.qos == 1 for m in messages)
    dashboard.close()


def test_a_command_reaches_the_host_and_its_answer_reaches_the_subscriber(hub):
    dashboard = _login(hub, "dashboard", "dashboard", "wohnzimmer")
    dashboard.connect()
    dashboard.subscribe("hub/state/#", qos=1)
    assistant = _login(hub, "ha", "homeassistant", "ha-secret")
    assistant.connect()
    assistant.publish("hub/cmd/light/kitchen", b"on", qos=1)
    state = dashboard.wait_message_on("hub/state/light/kitchen", b"on")
    assert state.qos == 1
    assistant.close()
    dashboard.close()


def test_the_hosts_user_table_refuses_a_wrong_password_and_anonymous_clients(hub):
    for user, password in [("dashboard", "wrong"), ("nobody", "x"), (None, None)]:
        client = TestClient(hub.host, hub.port, "intruder")
        if user is not None:
            client.paho.username_pw_set(user, password)
        client.paho.connect(hub.host, hub.port)
        client.paho.loop_start()
        client._loop_running = True
        client.wait_for(lambda: client.connacks, "CONNACK")
        # 3.1.1 return code 4: bad user name or password (paho 2 reports it as MQTT 5's
        # 0x86, the same meaning).
        assert client.connacks[-1][0] in (4, 0x86), (user, client.connacks)
        client.close()


def test_a_user_without_the_right_to_command_switches_nothing(hub):
    dashboard = _login(hub, "dashboard", "dashboard", "wohnzimmer")
    dashboard.connect()
    dashboard.subscribe("hub/state/#", qos=1)
    # Refused by the host's publish hook: MQTT 3.1.1 acknowledges and drops it.
    dashboard.publish("hub/cmd/light/hall", b"on", qos=1)
    assistant = _login(hub, "ha", "homeassistant", "ha-secret")
    assistant.connect()
    assistant.publish("hub/cmd/light/cellar", b"off", qos=1)
    state = dashboard.wait_message_on("hub/state/light/cellar", b"off")
    assert state.topic == "hub/state/light/cellar"
    assert all(m.topic != "hub/state/light/hall" for m in dashboard.received())
    assistant.close()
    dashboard.close()


@pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto-clients missing")
def test_mosquitto_sub_with_a_login_from_the_hosts_table(hub):
    done = subprocess.run(
        ["mosquitto_sub", "-h", hub.host, "-p", str(hub.port), "-u", "dashboard",
         "-P", "wohnzimmer", "-t", "Erdgeschoss/#", "-C", "2", "-W", "10", "-v"],
        capture_output=True, text=True, timeout=20,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all(l.startswith("Erdgeschoss/Wohnzimmer/Temp ") for l in lines)
