//! The delivery part of `status`: where events go and how far delivery got.

use std::time::SystemTime;

use serde_json::{Value as Json, json};
use specfact_telemetry::delivery::{self, DeliveryState};
use specfact_telemetry::event::format_timestamp;

use crate::context::Context;

/// What `status` shows about delivery.
#[derive(Debug, Clone)]
pub struct Summary {
    state: DeliveryState,
}

/// Reads the delivery state for the current settings (files only, no network).
pub fn summary(ctx: &Context) -> Summary {
    Summary {
        state: delivery::state(&ctx.settings),
    }
}

fn time(t: Option<SystemTime>) -> Json {
    json!(t.map(format_timestamp))
}

impl Summary {
    /// The `delivery` object of `status --json`.
    pub fn to_json(&self) -> Json {
        let s = &self.state;
        json!({
            "endpoint": s.endpoint,
            "refused": s.refused,
            "pending": s.pending,
            "sent_spans": s.sent_spans,
            "rejected_spans": s.rejected_spans,
            "partially_rejected_spans": s.partial_rejected_spans,
            "last_partial_message": s.last_partial_message,
            "last_attempt": time(s.last_attempt),
            "last_success": time(s.last_success),
            "last_error": s.last_error.as_ref().map(|e| json!({
                "at": time(e.at),
                "kind": e.kind,
                "status": e.status,
                "message": e.message,
            })),
            "retry_not_before": time(s.retry_not_before),
            "uploader_running": s.uploader_running,
            "next_retry": super::doctor::next_retry(s),
            "rejected_waiting": s.rejected_waiting,
            "uploader_said": s.uploader_said.as_ref().map(|(line, at)| json!({
                "line": line,
                "at": time(*at),
            })),
            "uploader_log": s.uploader_log.as_ref().map(|p| p.display().to_string()),
            "state_file": s.state_file.as_ref().map(|p| p.display().to_string()),
        })
    }

    /// The human-readable lines of `status`.
    pub fn to_text(&self) -> String {
        let s = &self.state;
        let Some(endpoint) = &s.endpoint else {
            return "  local only: no endpoint is configured, nothing is sent\n".to_owned();
        };
        let mut out = format!("  endpoint      {endpoint}\n");
        if let Some(why) = &s.refused {
            out.push_str(&format!("  NOT SENDING   {why}\n"));
        }
        if !s.enrolled {
            out.push_str("  nothing sent yet: events recorded from now on will be\n");
            out.push_str(
                "                (older ones only with `specfact-telemetry export --all`)\n",
            );
            return out;
        }
        out.push_str(&format!(
            "  pending       {}\n",
            super::output::plural(s.pending, "event", "events")
        ));
        out.push_str(&format!(
            "  sent          {}\n",
            super::output::plural(s.sent_spans, "span", "spans")
        ));
        if s.rejected_spans + s.partial_rejected_spans > 0 {
            out.push_str(&format!(
                "  rejected      {} (kept in the log)\n",
                super::output::plural(s.rejected_spans + s.partial_rejected_spans, "span", "spans")
            ));
        }
        if let Some(t) = s.last_attempt {
            out.push_str(&format!("  last attempt  {}\n", format_timestamp(t)));
        }
        if let Some(t) = s.last_success {
            out.push_str(&format!("  last success  {}\n", format_timestamp(t)));
        }
        if let Some(e) = &s.last_error {
            let status = e.status.map(|c| format!(" (HTTP {c})")).unwrap_or_default();
            out.push_str(&format!(
                "  last error    {}{status}: {}\n",
                e.kind, e.message
            ));
        }
        if let Some(t) = s.retry_not_before {
            out.push_str(&format!("  retry after   {}\n", format_timestamp(t)));
        }
        if s.pending > 0 || s.uploader_running {
            out.push_str(&format!(
                "  next retry    {}\n",
                super::doctor::next_retry(s).trim_start_matches("next retry: ")
            ));
        }
        if s.rejected_waiting > 0 {
            out.push_str(&format!(
                "  re-send       `specfact-telemetry export --rejected` sends the {} again\n",
                if s.rejected_waiting == 1 {
                    "1 rejected event".to_owned()
                } else {
                    format!("{} rejected events", s.rejected_waiting)
                }
            ));
        }
        if let Some((line, at)) = &s.uploader_said {
            let at = at
                .map(|t| format!(" ({})", format_timestamp(t)))
                .unwrap_or_default();
            out.push_str(&format!("  uploader said {line}{at}\n"));
        }
        out
    }
}
