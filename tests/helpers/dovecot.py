"""A real Dovecot (IMAP and POP3 on 127.0.0.1, plain, one passwd-file user) started by the
test itself with a generated config: no system service, nothing outside its own folder.

Dovecot refuses to run its login and mail processes as root. Run as an ordinary user, it runs
everything as that user in ``tmp_path``. Run as root (CI), its login processes use Debian's
``dovenull`` and the mail is owned by the ``dovecot`` user, in a folder of its own under the
system's temporary directory (pytest's ``tmp_path`` sits in a folder only root may enter);
the folder is removed afterwards. Either way tests deliver mail by IMAP APPEND.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.env import free_port

USER = "bounces"
PASSWORD = "not-a-real-password"


@dataclass
class Dovecot:
    """One running server: where it listens and who may log in."""

    folder: Path
    imap_port: int
    pop3_port: int
    user: str = USER
    password: str = PASSWORD

    def url(self, scheme: str = "imap", folder: str = "INBOX") -> str:
        port = self.imap_port if scheme == "imap" else self.pop3_port
        tail = f"/{folder}" if scheme == "imap" else ""
        return f"{scheme}://{self.user}:{self.password}@127.0.0.1:{port}{tail}"

    @contextmanager
    def imap(self, folder: str = "INBOX") -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        conn.login(self.user, self.password)
        conn.select(folder)
        try:
            yield conn
        finally:
            conn.logout()

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put one message in the mailbox, unread, as a mail server would."""
        with self.imap(folder) as conn:
            conn.append(folder, None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    def create(self, folder: str) -> None:
        with self.imap() as conn:
            conn.create(folder)

    def messages(self, folder: str = "INBOX") -> list[tuple[bytes, bytes]]:
        """(flags, raw message) of every message in ``folder``, read without marking it seen."""
        found = []
        with self.imap(folder) as conn:
            _, data = conn.uid("SEARCH", None, "ALL")
            for uid in data[0].split():
                _, parts = conn.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                found.append((parts[0][0], parts[0][1]))
        return found


def _config(folder: Path, imap_port: int, pop3_port: int) -> str:
    if os.geteuid() == 0:
        login, internal, mail_user = "dovenull", "dovecot", "dovecot"
    else:
        login = internal = mail_user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name
    mail_uid = pwd.getpwnam(mail_user).pw_uid
    mail_gid = pwd.getpwnam(mail_user).pw_gid
    return f"""
protocols = imap pop3
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={folder}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith((b"* OK", b"+OK")):
                    return
        except OSError:
            time.sleep(0.1)
    text = log.read_text() if log.exists() else "(no log)"
    raise RuntimeError(f"dovecot did not start on port {port}:\n{text}")


@contextmanager
def running(tmp_path: Path) -> Iterator[Dovecot]:
    """A Dovecot of the test's own, with an empty INBOX (the test module's ``dovecot``
    fixture: ``with running(tmp_path) as server: yield server``)."""
    binary = shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/sbin/dovecot") if os.path.exists(p)), None
    )
    if binary is None:
        pytest.skip("the dovecot binary is absent: apt-get install dovecot-imapd dovecot-pop3d")
    root = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="newsletter-dovecot-")) if root else tmp_path / "dv"
    folder.mkdir(exist_ok=True)
    (folder / "mail").mkdir()
    if root:
        folder.chmod(0o755)
        mail = pwd.getpwnam("dovecot")
        os.chown(folder / "mail", mail.pw_uid, mail.pw_gid)
    (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    server = Dovecot(folder, free_port(), free_port())
    conf = folder / "dovecot.conf"
    conf.write_text(_config(folder, server.imap_port, server.pop3_port))
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        _wait_for(server.imap_port, process, folder / "dovecot.log")
        _wait_for(server.pop3_port, process, folder / "dovecot.log")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if root:
            shutil.rmtree(folder, ignore_errors=True)
