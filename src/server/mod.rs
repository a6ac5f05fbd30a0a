//! The HTTP scoring service (issue 4): placeholder until the service lands.
