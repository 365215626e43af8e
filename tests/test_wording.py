"""Counts in messages take the noun's number: ``albench.wording``."""

from albench.wording import are, close_names, closest, counted, were


def test_counted_takes_the_number_of_its_count():
    assert [counted(n, "run") for n in (0, 1, 2)] == ["0 runs", "1 run", "2 runs"]
    assert counted(1, "analysis", "analyses") == "1 analysis" and counted(3, "analysis", "analyses") == "3 analyses"
    assert (were(1), were(2), are(1), are(0)) == ("was", "were", "is", "are")


def test_hints_name_the_closest_word_and_names_holding_a_short_one():
    assert closest("lerner", ["dataset", "learner"]) == "did you mean 'learner'? "
    assert closest("zzz", ["dataset", "learner"]) == ""
    assert close_names("qbc", ["margin", "alipy.qbc_kl", "skactiveml.qbc_kl"]) == ["alipy.qbc_kl", "skactiveml.qbc_kl"]
