//! Importing a SillyTavern data root.
