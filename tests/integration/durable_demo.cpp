#include "integration/durable_demo.hpp"

namespace fcgihost {
namespace testing_support {

int run_jobs_tool(const std::vector<std::string>& args, std::string& out) {
    TempDir dir;
    std::vector<std::string> argv = {runner_dir() + "/fcgihost-jobs"};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess tool(argv, dir.file("out"));
    if (!tool.wait_exit(std::chrono::seconds(20))) return -1;
    out = tool.log();
    return tool.exit_code();
}

}  // namespace testing_support
}  // namespace fcgihost
