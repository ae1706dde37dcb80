//! The delivery part of `status`: where events go and how far delivery got.

use serde_json::{Value as Json, json};

use crate::context::Context;

/// What `status` shows about delivery.
#[derive(Debug, Clone)]
pub struct Summary {
    endpoint: Option<String>,
}

/// Collects the delivery summary for the current settings.
pub fn summary(ctx: &Context) -> Summary {
    Summary {
        endpoint: ctx.settings.endpoint.value.clone(),
    }
}

impl Summary {
    /// The `delivery` object of `status --json`.
    pub fn to_json(&self) -> Json {
        json!({ "endpoint": self.endpoint })
    }

    /// The human-readable lines of `status`.
    pub fn to_text(&self) -> String {
        match &self.endpoint {
            None => "  local only: no endpoint is configured, nothing is sent\n".to_owned(),
            Some(e) => format!("  endpoint  {e}\n"),
        }
    }
}
