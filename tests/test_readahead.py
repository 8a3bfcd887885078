import io
import threading

import pytest

from w2v.readahead import ReadAhead


def test_blocks_come_in_file_order_with_what_then_found_and_the_end_as_often_as_asked():
    data = bytes(range(256)) * 40  # 10,240 bytes: 10 whole chunks and a part
    seen = []
    with ReadAhead(io.BytesIO(data), chunk=1000, slack=7, buffers=3,
                   then=lambda buf, start, got: (threading.current_thread().name, bytes(buf[start:start + got]).count(0))
                   ) as ahead:
        got_all = b""
        while True:
            i, got, (thread, zeros) = ahead.next()
            block = bytes(ahead.bufs[i][7:7 + got])
            assert zeros == block.count(0) and thread == "w2v-read-ahead"
            seen.append(got)
            ahead.give_back(i)
            if not got:
                break
            got_all += block
        assert ahead.next()[1] == 0 and ahead.next()[1] == 0  # the end, again
    assert got_all == data
    assert seen == [1000] * 10 + [240, 0]


def test_next_bytes_gives_each_block_as_bytes_and_its_buffer_back():
    data = bytes(range(256)) * 9  # 2,304 bytes; two buffers, so a buffer kept would stop the reads
    with ReadAhead(io.BytesIO(data), chunk=500, slack=3, buffers=2) as ahead:
        blocks = [ahead.next_bytes() for _ in range(7)]
    assert b"".join(blocks) == data and [len(b) for b in blocks] == [500] * 4 + [304, 0, 0]


def test_a_buffer_not_given_back_is_never_read_into_again():
    data = bytes(range(100)) * 100
    with ReadAhead(io.BytesIO(data), chunk=100, slack=0, buffers=2) as ahead:
        kept, got, _ = ahead.next()
        assert bytes(ahead.bufs[kept]) == data[:100]
        for k in range(1, 20):  # the other buffer, given back every time, carries the rest
            i, got = ahead.next()[:2]
            assert i != kept and bytes(ahead.bufs[i][:got]) == data[100 * k:100 * (k + 1)]
            ahead.give_back(i)
        assert bytes(ahead.bufs[kept]) == data[:100]


class FailingFile(io.RawIOBase):
    def __init__(self, good_reads):
        self.left = good_reads

    def readable(self):
        return True

    def readinto(self, b):
        if self.left == 0:
            raise OSError(5, "Input/output error")
        self.left -= 1
        b[:4] = b"abcd"
        return 4


def test_a_read_error_is_raised_where_the_blocks_are_taken_every_time_they_are_asked_for():
    with ReadAhead(FailingFile(good_reads=2), chunk=4, slack=0, buffers=4) as ahead:
        assert ahead.next()[1:] == (4, None) and ahead.next()[1:] == (4, None)
        for _ in range(2):
            with pytest.raises(OSError, match="Input/output error"):
                ahead.next()
    assert not ahead._thread.is_alive()


def test_leaving_stops_the_thread_while_blocks_are_unread():
    with ReadAhead(io.BytesIO(bytes(10_000)), chunk=10, slack=0, buffers=2) as ahead:
        ahead.next()
    assert not ahead._thread.is_alive()


@pytest.mark.parametrize("chunk,slack,buffers", [(0, 0, 2), (10, -1, 2), (10, 0, 1)])
def test_impossible_settings_are_refused(chunk, slack, buffers):
    with pytest.raises(ValueError, match="read-ahead needs"):
        ReadAhead(io.BytesIO(b"x"), chunk, slack, buffers)
