//! Batch re-scoring of archives (issue 5): placeholder until it lands.
