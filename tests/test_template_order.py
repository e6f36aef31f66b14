"""The warm template's order of messages (adrs/box/template.py), without processes:
which spare each message goes to, whatever order the controller's messages and a
job's end reach the template in."""

import json
import os

import pytest

from adrs.sandbox.box import template as template_module


class FakeSpares:
    """Spares as numbers: each `make` is the next one; `all` is oldest first."""

    def __init__(self):
        self.all, self.made = [], 0

    def make(self):
        self.made += 1
        spare = (self.made, -self.made, None)  # (pid, pidfd, socket)
        self.all.append(spare)
        return spare

    def drop(self, spare):
        self.all.remove(spare)


@pytest.fixture
def template(monkeypatch):
    """A Template whose spares and controller are recorded, not real."""
    handed, said = [], []
    monkeypatch.setattr(template_module, "_hand",
                        lambda spare, message, fds: handed.append((spare[0], json.loads(message))))
    t = object.__new__(template_module.Template)
    t.spares, t.running, t.waiting = FakeSpares(), None, []
    t._say = said.append
    t._ended = lambda spare: 0
    t.spares.make()  # the first spare, made when the template starts
    t.handed, t.said = handed, said
    return t


def job(number):
    return json.dumps({"job": {"id": number}}).encode()


GROUP = b'{"group": true}'


def test_cgroups_sent_while_a_job_runs_go_to_the_spare_of_the_job_after_it(template):
    template._handle(job(1), [])
    template._handle(GROUP, [])
    assert template.handed == [(1, {"job": {"id": 1}}), (2, {"group": True})]


def test_cgroups_that_came_behind_a_waiting_job_reach_their_spare_when_it_starts(template):
    """The controller's next job and the cgroups for the one after it can both reach
    the template before it has seen the running job end (the end of job 1 and the
    message of job 2 race on a loaded machine). Once job 2 starts, the cgroups go at
    once to the spare that will run job 3, not when job 2 ends."""
    template._handle(job(1), [])
    template._handle(job(2), [])  # job 1 still runs: job 2 waits
    template._handle(GROUP, [])  # behind a waiting job: waits too
    assert template.handed == [(1, {"job": {"id": 1}})]
    template._job_ended()
    assert template.said == [{"exit": 0, "id": 1}]
    assert template.handed[1:] == [(2, {"job": {"id": 2}}), (3, {"group": True})]
    assert template.running[1] == 2 and template.waiting == []


def test_a_second_waiting_job_still_waits_for_the_first_to_end(template):
    template._handle(job(1), [])
    for message in (job(2), GROUP, job(3)):
        template._handle(message, [])
    template._job_ended()
    assert [m for _, m in template.handed] == [{"job": {"id": 1}}, {"job": {"id": 2}},
                                               {"group": True}]
    assert [json.loads(m) for m, _ in template.waiting] == [{"job": {"id": 3}}]
    template._job_ended()
    assert template.handed[-1] == (3, {"job": {"id": 3}})  # the spare that joined them


def test_a_waiting_job_killed_before_it_starts_ends_at_once(template):
    template._handle(job(1), [])
    held = os.open(os.devnull, os.O_RDONLY)
    template._handle(job(2), [held])
    template._handle(json.dumps({"kill": 2}).encode(), [])
    assert template.said == [{"exit": 137, "id": 2}] and template.waiting == []
    with pytest.raises(OSError):
        os.fstat(held)  # its descriptors were closed, not leaked
