//! `maildrift snapshot import`: a snapshot from `php admin/cli/cfg.php --json`.
