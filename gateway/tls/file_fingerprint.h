// Whether files changed since they were last read: device, inode, size and modification time of
// each, following symlinks (a Kubernetes Secret update swaps the `..data` symlink, which changes
// the inode even when size and mtime look alike). Cheap enough to poll every tls.reload_interval.
#pragma once

#include <string>
#include <vector>

namespace mla::tls {

// One string for all `files` (empty names skipped; a missing file has its own marker, so a file
// that disappears or comes back counts as a change).
std::string files_fingerprint(const std::vector<std::string>& files);

}  // namespace mla::tls
