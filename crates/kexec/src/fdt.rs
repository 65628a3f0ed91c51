//! Flattened device trees (DTB): read and write (to come).
