# What a newcomer meets in the first hour: each mistake gets a message that says what to do, and
# the right exit status. Embedded store only: no server needed.
. "$(dirname "$0")/lib.sh"

write_embedded_config edelweiss

# A store that does not exist yet: said for a file, with the command that makes it.
expect_status 76 "$edw" status
expect_output "the embedded store edw-data/edelweiss.db does not exist (no such file); create it with: edw db create"

expect_status 0 "$edw" db create
expect_status 0 "$edw" design push
# db info names the database as the settings do, as CouchDB does, and the file apart.
expect_status 0 "$edw" db info
expect_output '"db_name": "edelweiss"'
expect_output '"file": "edw-data/edelweiss.db"'

# A settings line that lost its '=' is named by line.
printf '[database]\nurl file:edw-data/edelweiss.db\nname = edelweiss\n' >broken.ini
expect_status 2 "$edw" --config broken.ini status
expect_output "broken.ini: line 2: [database] url file: unknown key (expected 'key = value': is the '=' missing?)"

# Truncated JSON: where it broke.
printf '{"_id": "x", "a": [1, 2' >truncated.json
expect_status 65 "$edw" doc put truncated.json
expect_output "cannot put truncated.json: not valid JSON: parse error at line 1, column 24"

# --since with what is no seq of this store: a usage error.
expect_status 2 "$listen_newfiles" --since bogus --lock-dir "$work/locks"
expect_output "--since bogus: the server refused it as a seq"

# metadata make on a run that exists: nothing written, and said so before any progress line.
expect_status 0 "$edw" metadata make 3 --run ma22a000
expect_status 1 "$edw" metadata make 3 --run ma22a000
expect_output "run ma22a000 already has docs"
expect_no_output "3/3 docs"

# Help: the global --config under every subcommand, option types a user can read, defaults.
expect_status 0 "$edw" retry --help
expect_output "--id ID                     This doc (or --all-failed)"
expect_output "Global option (before or after the subcommand):"
expect_status 2 "$edw" retry --id x --all-failed
expect_output "one of them"
expect_status 0 "$edw" status --help
expect_output "--interval SECONDS=2"
expect_status 0 "$listen_newfiles" --help
expect_output "--batch-size N=200"
expect_no_output "UINT"
expect_status 0 "$listen_command" --help
expect_output "--step-timeout is the runner's outer limit"
finish
