//! `fs/sync.c` (v6.15): the VFS entry of fsync, which reaches the
//! filesystem through the file's `f_op`.

use crate::cx::Cx;
use crate::world::File;

/// `fs/sync.c` `vfs_fsync_range(file, start, end, datasync=1)` →
/// `file->f_op->fsync`. Returns 0 or the filesystem's error.
pub fn vfs_fsync_range(cx: &Cx, file: File, start: u64, end: u64) -> i32 {
    let _f = cx.enter("vfs_fsync_range");
    let file = file.0;
    let fsync = cx.w.file(file).f_op.fsync;
    fsync(cx, file, start, end)
}
