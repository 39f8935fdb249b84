#include "gateway/ratelimit/replica_status.h"

namespace mla::ratelimit {

ReplicaStatus& replica_status() {
  static ReplicaStatus instance;
  return instance;
}

}  // namespace mla::ratelimit
