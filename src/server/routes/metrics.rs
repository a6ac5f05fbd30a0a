//! `GET /metrics`: Prometheus text format (see [`crate::server::metrics`]).

use actix_web::{web, HttpResponse};

use super::method_not_allowed;
use crate::server::state::AppState;

/// Registers `/metrics`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/metrics")
            .route(web::get().to(metrics))
            .default_service(method_not_allowed("GET")),
    );
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let in_flight = state.in_flight();
    let body = state
        .metrics()
        .render(&state.model(), in_flight.current(), in_flight.limit());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
