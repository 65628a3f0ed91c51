//! The arm64 Linux `Image` format (to come).
