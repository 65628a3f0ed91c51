//! arm64: purgatory (to come).
