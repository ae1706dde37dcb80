//! What happens after an event is safely in the local log.
//!
//! The tracker calls [`after_append`] once per recorded event. Delivery plugs in
//! here, so the tracker stays unaware of networks.

use crate::delivery::Delivery;
use crate::log::{Appended, LocalLog};
use crate::settings::Settings;

/// Called after every successful append. Must return quickly and never block on I/O
/// other than local files.
pub(crate) fn after_append(
    settings: &Settings,
    delivery: &Delivery,
    log: &LocalLog,
    appended: &Appended,
) {
    // Without an endpoint the local log is the whole story.
    if settings.endpoint.value.is_some() {
        delivery.after_append(settings, log, appended);
    }
}
