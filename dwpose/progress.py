"""Progress bars of every command: tqdm on a terminal; where stderr is not one (a log file, a
pipe, CI) plain lines every `PLAIN_INTERVAL_S` seconds instead of carriage-return redraws, and
none of the clearing writes of a closed bar."""

from __future__ import annotations

import sys
from typing import Any, Iterable

from tqdm import tqdm

PLAIN_INTERVAL_S = 30.0  # seconds between two lines of a bar that is not on a terminal


class PlainProgress(tqdm):
    """A tqdm that writes each refresh as one whole line: no `\r` redraws, no bar erased on
    close. The last state is written on close when the bar is kept (`leave`) or already wrote a
    line (a long task); a short one that is not kept leaves no line."""

    _lines = 0
    _shown_n: float | None = None  # the count of the last line written

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        text = self.__str__() if msg is None else msg
        if text.strip():  # an empty message is tqdm clearing its line: nothing to clear here
            self.fp.write(text.strip() + "\n")
            self.fp.flush()
            self._lines += 1
            self._shown_n = self.n
        return True

    def clear(self, nolock: bool = False) -> None:
        pass  # nothing to erase in a log

    def refresh(self, nolock: bool = False, lock_args: Any = None) -> bool:
        if nolock:  # `tqdm.write` redraws the bars after its line: a log needs no redraw
            return False
        return super().refresh(nolock, lock_args)

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        super().set_postfix(ordered_dict, refresh=False, **kwargs)  # shown in the next periodic line

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        super().set_description(desc, refresh=False)

    def close(self) -> None:
        if self.disable:  # a disabled tqdm has no stream at all
            return super().close()
        if (self.leave or self._lines) and self._shown_n != self.n:
            self.display()
        stream, self.fp = self.fp, _Discard()  # tqdm's closing writes are terminal redraws
        try:
            super().close()
        finally:
            self.fp = stream


class _Discard:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def stderr_is_terminal() -> bool:
    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def progress(iterable: Iterable | None = None, **kwargs: Any) -> tqdm:
    """`tqdm(iterable, **kwargs)` on stderr: a bar on a terminal, else periodic plain lines."""
    if stderr_is_terminal():
        return tqdm(iterable, **kwargs)
    kwargs.setdefault("mininterval", PLAIN_INTERVAL_S)
    kwargs.setdefault("delay", PLAIN_INTERVAL_S)  # no line at the start: short tasks write none
    kwargs.setdefault("ascii", True)
    return PlainProgress(iterable, **kwargs)


def note(message: str, file: Any = None) -> None:
    """A line (on stderr unless `file` says otherwise) that does not break a progress bar."""
    tqdm.write(message, file=sys.stderr if file is None else file)
