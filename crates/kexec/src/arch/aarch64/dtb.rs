//! arm64: dtb (to come).
