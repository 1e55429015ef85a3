//! The heap of an embedded broker that serves only the host program: no listeners, a
//! subscription and some traffic, then idle. Alone in its test binary, so the counting global
//! allocator sees the broker and little else.

use std::alloc::System;
use std::thread;
use std::time::Duration;

use minibroker::BrokerBuilder;
use minibroker::embed::Publication;
use minibroker::protocol::QoS;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// What the issue asks of an in-process broker at rest.
const IDLE_HEAP_LIMIT: isize = 1024 * 1024;

#[test]
fn an_in_process_broker_idles_under_one_megabyte_of_heap() {
    let region = Region::new(GLOBAL);
    let handle = BrokerBuilder::new().build().expect("bind").spawn();
    let readings = handle
        .subscribe("sensors/#", QoS::AtLeastOnce)
        .expect("subscribe");
    readings
        .wait_ready(Duration::from_secs(5))
        .expect("subscribed");
    for i in 0..1000 {
        let publication = Publication::new(format!("sensors/{}", i % 10), format!("{i}"))
            .qos(QoS::AtLeastOnce)
            .retain(true);
        handle.publish(publication).expect("publish");
        readings
            .recv_timeout(Duration::from_secs(5))
            .expect("message");
    }
    // Idle: a few turns of the loop with nothing to do.
    thread::sleep(Duration::from_millis(300));
    let change = region.change();
    let held = change.bytes_allocated as isize - change.bytes_deallocated as isize
        + change.bytes_reallocated;
    println!(
        "an embedded broker without listeners, 10 retained messages, one subscription: \
         {held} bytes of heap held ({} allocations made, {} freed)",
        change.allocations, change.deallocations
    );
    assert!(held > 0, "the counting allocator saw the broker");
    assert!(held < IDLE_HEAP_LIMIT, "{held} bytes of heap at idle");
    drop(readings);
    handle.stop().expect("stop");
}
