//! arm64: crash (to come).
