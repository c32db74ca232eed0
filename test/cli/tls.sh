# HTTPS: a server certificate no trusted CA signed is refused by default; with ca_file it is
# accepted. The server is `openssl s_server` on 127.0.0.1 with a certificate made here.
. "$(dirname "$0")/lib.sh"

port=15989
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout key.pem -out cert.pem 2>/dev/null ||
    fail "cannot make a test certificate"
openssl s_server -accept "$port" -cert cert.pem -key key.pem -www -quiet >/dev/null 2>&1 &
for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

printf '[database]\nurl = https://127.0.0.1:%s\nname = edw\ntimeout_ms = 5000\n' "$port" >edw.ini
expect_status 69 "$edw" db info
expect_output "certificate"

# Trusted through ca_file, the handshake succeeds; s_server then answers with an HTML page,
# which is not a database: a data error, not a connection error.
EDW_CA_FILE=cert.pem expect_status 65 "$edw" db info
expect_output "not JSON"
finish
