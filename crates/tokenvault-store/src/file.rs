//! PLACEHOLDER: the age-format file backend.
