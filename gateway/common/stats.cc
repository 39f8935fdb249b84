#include "gateway/common/stats.h"

namespace mla::common {

Stats& stats() {
  static Stats instance;
  return instance;
}

}  // namespace mla::common
