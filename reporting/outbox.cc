#include "reporting/outbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/rpc.h"

namespace ctg::reporting {
namespace {

void WriteSynced(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) throw OutboxError("cannot create " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string error = std::strerror(errno);
      ::close(fd);
      throw OutboxError("cannot write " + path + ": " + error);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw OutboxError("cannot sync " + path + ": " + std::strerror(errno));
  }
}

void SyncDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    throw OutboxError("cannot sync " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
}

}  // namespace

bool PlacePackage(const std::string& outbox, const std::string& name,
                  const std::vector<ArtefactFile>& files, const std::string& manifest) {
  namespace fs = std::filesystem;
  const std::string final_path = outbox + "/" + name;
  std::error_code ec;
  if (fs::exists(final_path, ec)) return false;
  const std::string temporary = outbox + "/.partial-" + name + "-" + NewUuid().substr(0, 8);
  if (::mkdir(temporary.c_str(), 0755) != 0) {
    throw OutboxError("cannot write in the outbox " + outbox + ": " + std::strerror(errno));
  }
  try {
    for (const auto& f : files) WriteSynced(temporary + "/" + f.name, f.content);
    WriteSynced(temporary + "/manifest.json", manifest);
    SyncDirectory(temporary);
    // rename(2) onto an existing non-empty directory fails: two senders never both succeed.
    if (::rename(temporary.c_str(), final_path.c_str()) != 0) {
      const int error = errno;
      fs::remove_all(temporary, ec);
      if (error == ENOTEMPTY || error == EEXIST) return false;
      throw OutboxError("cannot place the package in " + outbox + ": " + std::strerror(error));
    }
    SyncDirectory(outbox);
  } catch (const OutboxError&) {
    fs::remove_all(temporary, ec);
    throw;
  }
  return true;
}

}  // namespace ctg::reporting
