// spawn_child: the environment a child sees.
#include <edw/util/child_process.hpp>

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <string>

namespace {

// What `sh -c 'echo "$EDW_CHILD_TEST"'` prints when spawned with `environment`.
std::string child_sees(const std::vector<std::string>& environment)
{
    std::array<int, 2> pipe_ends{};
    REQUIRE(::pipe(pipe_ends.data()) == 0);
    pid_t pid = 0;
    REQUIRE(edw::spawn_child(pid, {"sh", "-c", "echo \"$EDW_CHILD_TEST\""}, -1, pipe_ends[1], -1,
                             environment) == 0);
    ::close(pipe_ends[1]);
    std::string out;
    std::array<char, 256> buffer{};
    for (ssize_t got = 0; (got = ::read(pipe_ends[0], buffer.data(), buffer.size())) > 0;) {
        out.append(buffer.data(), static_cast<std::size_t>(got));
    }
    ::close(pipe_ends[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return out;
}

} // namespace

TEST_CASE("spawn_child: a variable given for the child replaces the parent's of the same name")
{
    ::setenv("EDW_CHILD_TEST", "from the parent", 1);
    CHECK(child_sees({}) == "from the parent\n");
    CHECK(child_sees({"EDW_CHILD_TEST=for the child"}) == "for the child\n");
    // A name that only starts the same is another variable.
    CHECK(child_sees({"EDW_CHILD_TEST_LONGER=x"}) == "from the parent\n");
    ::unsetenv("EDW_CHILD_TEST");
}
