"""Connections to the mail server, kept open between emails and shared by a worker's email slots.

An escalation's emails are jobs of their own, leased by the worker's email slots: each busy slot
holds one connection, and hands it back for the next email when its send went through (or the
server answered no: the client resets the envelope). So one escalation's recipients go out over
at most as many connections as the worker has email slots, and a steady stream of escalations
over those same few connections, instead of one connection (TCP, greeting, EHLO, STARTTLS, login)
per email. A connection that failed (timed out, dropped) is closed, never reused; one idle longer
than `keep_seconds`, or used for `max_messages`, is closed as well. Delivery stays at least
once, settlement exactly once: nothing here touches the jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

import aiosmtplib

log = logging.getLogger(__name__)


class SmtpConnections:
    def __init__(
        self,
        smtp_url: str,
        timeout_seconds: float,
        *,
        keep_seconds: float = 10.0,
        max_messages: int = 100,
    ) -> None:
        """`timeout_seconds`: for connecting (and the greeting), and for each command's answer.
        `keep_seconds` 0: a connection per message, closed after it."""
        self.url = urlparse(smtp_url)
        self.timeout_seconds = timeout_seconds
        self.keep_seconds = keep_seconds
        self.max_messages = max_messages
        # Idle connections, the most recently used last; each with its expiry's timer.
        self._idle: list[tuple[aiosmtplib.SMTP, asyncio.TimerHandle]] = []
        self._sent: dict[aiosmtplib.SMTP, int] = {}
        self._closed = False
        self.opened = 0  # connections made so far

    @property
    def idle_open(self) -> int:
        """Idle connections whose server has not closed them (as far as this process knows)."""
        return sum(1 for smtp, _ in self._idle if smtp.is_connected)

    async def send(self, message: EmailMessage) -> None:
        """Over an idle connection if one is still up, else a new one. A failure the server
        answered (a refusal) leaves the connection for the next message; any other closes it.
        A reused connection that turns out dropped (the server closed it while idle) is tried
        once more on a new one: the message was not accepted on it."""
        await self._send(lambda smtp: smtp.send_message(message))

    async def send_raw(self, sender: str, recipients: list[str], message: bytes) -> None:
        """`send` for a message already rendered (its envelope's addresses ASCII)."""
        await self._send(lambda smtp: smtp.sendmail(sender, recipients, message))

    async def _send(self, send: Callable[[aiosmtplib.SMTP], Awaitable[object]]) -> None:
        smtp, reused = self._take()
        if smtp is None:
            smtp = await self._connect()
        try:
            await send(smtp)
        except aiosmtplib.SMTPServerDisconnected:
            self._discard(smtp)
            if not reused:
                raise
            smtp = await self._connect()
            try:
                await send(smtp)
            except BaseException as error:
                await self._after_failure(smtp, error)
                raise
        except BaseException as error:
            await self._after_failure(smtp, error)
            raise
        await self._give_back(smtp)

    async def close(self) -> None:
        """The worker stops: close the idle connections (busy ones close as their slots end)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for smtp, expiry in idle:
            expiry.cancel()
            await self._quit(smtp)

    def _take(self) -> tuple[aiosmtplib.SMTP | None, bool]:
        while self._idle:
            smtp, expiry = self._idle.pop()
            expiry.cancel()
            if smtp.is_connected:
                return smtp, True
            self._discard(smtp)
        return None, False

    async def _connect(self) -> aiosmtplib.SMTP:
        url = self.url
        smtp = aiosmtplib.SMTP(
            hostname=url.hostname or "127.0.0.1",
            port=url.port or (465 if url.scheme == "smtps" else 25),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps",
            start_tls=None if url.scheme == "smtp" else False,  # None: STARTTLS when offered
            timeout=self.timeout_seconds,
        )
        try:
            await smtp.connect()
        except BaseException:
            smtp.close()
            raise
        self.opened += 1
        self._sent[smtp] = 0
        return smtp

    async def _give_back(self, smtp: aiosmtplib.SMTP) -> None:
        self._sent[smtp] = self._sent.get(smtp, 0) + 1
        if self._closed or self.keep_seconds <= 0 or self._sent[smtp] >= self.max_messages:
            await self._quit(smtp)
            return
        expiry = asyncio.get_running_loop().call_later(self.keep_seconds, self._expire, smtp)
        self._idle.append((smtp, expiry))

    async def _after_failure(self, smtp: aiosmtplib.SMTP, error: BaseException) -> None:
        refused = aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused
        if isinstance(error, refused) and smtp.is_connected:
            # The server said no, and the client reset the envelope: the connection is sound.
            await self._give_back(smtp)
        else:
            self._discard(smtp)

    def _expire(self, smtp: aiosmtplib.SMTP) -> None:
        """Idle too long: closed (without a QUIT, which would need a task of its own)."""
        for n, (idle, _) in enumerate(self._idle):
            if idle is smtp:
                del self._idle[n]
                self._discard(smtp)
                return

    async def _quit(self, smtp: aiosmtplib.SMTP) -> None:
        self._sent.pop(smtp, None)
        try:
            async with asyncio.timeout(min(self.timeout_seconds, 2.0)):
                await smtp.quit()
        except Exception:
            pass  # a goodbye unheard changes nothing: the message went
        finally:
            smtp.close()

    def _discard(self, smtp: aiosmtplib.SMTP) -> None:
        self._sent.pop(smtp, None)
        smtp.close()
