// ChildProcess: posix_spawn with the signal settings and process group edw's children need.
#include <edw/util/child_process.hpp>

#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>

extern char** environ;

namespace edw {

int spawn_child(pid_t& pid, const std::vector<std::string>& argv, int input, int output, int errors,
                const std::vector<std::string>& environment)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const int streams[] = {input, output, errors};
    for (int target = 0; target < 3; ++target) {
        if (streams[target] >= 0) {
            posix_spawn_file_actions_adddup2(&actions, streams[target], target);
        }
    }
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigfillset(&defaults);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                              POSIX_SPAWN_SETPGROUP);

    // A variable given here replaces the parent's of the same name: getenv returns the first
    // match, so an appended EDW_DB would lose to an EDW_DB the parent was started with.
    const auto given = [&](std::string_view variable) {
        const auto name = variable.substr(0, variable.find('=') + 1);
        return std::any_of(environment.begin(), environment.end(),
                           [&](const std::string& own) { return own.starts_with(name); });
    };
    std::vector<std::string> variables;
    for (char** variable = environ; *variable != nullptr; ++variable) {
        if (!given(*variable)) {
            variables.emplace_back(*variable);
        }
    }
    variables.insert(variables.end(), environment.begin(), environment.end());
    std::vector<char*> envp;
    for (auto& variable : variables) {
        envp.push_back(variable.data());
    }
    envp.push_back(nullptr);
    std::vector<std::string> arguments = argv;
    std::vector<char*> args;
    for (auto& argument : arguments) {
        args.push_back(argument.data());
    }
    args.push_back(nullptr);

    const int spawned =
        ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return spawned;
}

void ignore_sigpipe()
{
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
        ::signal(SIGPIPE, SIG_IGN);
    }
}

} // namespace edw
