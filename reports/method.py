"""The method note printed with every change summary.

Funders and councils are asked to trust the figures, so each report says in plain English
how they were made and what they cannot show. The wording here must match what
``reports.statistics`` and ``reports.disclosure`` actually do; change them together.
"""

from __future__ import annotations

from reports.disclosure import DisclosurePolicy
from reports.multiplicity import METHODS
from reports.statistics import FollowUp
from reports.verdict import MIN_DECIDABLE_N

__all__ = ["method_note"]


def _number(x: float) -> str:
    return f"{x:g}"


def method_note(
    threshold: int,
    *,
    adjustment: str = "holm",
    tests: int = 0,
    since: bool = False,
    follow_up: FollowUp | None = None,
    policy: DisclosurePolicy | None = None,
) -> list[str]:
    """Paragraphs explaining the figures, for readers who are not statisticians.

    ``threshold`` is the small-number suppression threshold the report was built with,
    ``adjustment`` and ``tests`` the multiple-testing method and number of tests, ``since``
    whether the period has a start, ``follow_up`` the fixed follow-up if one was asked for,
    ``policy`` (default: full protection) how counts and means were protected.
    """
    policy = policy or DisclosurePolicy(threshold=threshold)
    if follow_up is None:
        second = "their latest is their last answer in it"
    else:
        second = (
            f"their follow-up is their answer nearest {_number(follow_up.target / 7)} weeks "
            f"after the baseline, between {_number((follow_up.target - follow_up.window) / 7)}"
            f" and {_number((follow_up.target + follow_up.window) / 7)} weeks (people with no "
            "answer in that window are left out)"
        )
    start = (
        " Because this report starts at a date, a baseline is the first answer in the "
        "period, which for people who joined earlier is a mid-programme answer, not the "
        "answer they gave when they joined."
        if since
        else ""
    )
    extra = [
        "How long people were followed. Each measure gives follow_up_days: the median, "
        "quartiles and range of the days between each paired person's baseline and the "
        "answer compared with it. Changes over a few days and over months are not the same "
        "thing; read the change with this.",
        "Verdicts. Each change gets one verdict. It is called an increase or a decrease only "
        "when the 95% interval leaves out zero, the Wilcoxon test agrees (p below 0.05), and "
        f"the p-value adjusted for the report's {tests} tests is below 0.05. With fewer than "
        f"{MIN_DECIDABLE_N} paired people no test can reach that level, so the verdict is "
        "'not enough data'. When everyone changed by exactly the same amount the interval "
        "has no width and says nothing about uncertainty, so the verdict is 'no clear "
        "change'; and when the interval and the Wilcoxon test disagree, it is 'no clear "
        "change' and the report says why.",
        f"Many tests at once. Every test in this report ({tests} of them: each measure for "
        "everyone and for each group shown, and each comparison between groups) is "
        f"adjusted for their number by {METHODS.get(adjustment, adjustment)}. The adjusted "
        "value is published beside the raw one as p_adjusted, and verdicts use it. Weekly "
        "means and their intervals describe each week; they are not tests and are not "
        "adjusted.",
        "Comparing places. Where groups are shown side by side, each pair gets the "
        "difference in their mean changes with a 95% interval from Welch's t-test (which "
        "does not assume the groups vary equally), adjusted like every other test.",
        "Did the people who dropped out differ? The attrition check compares the baseline "
        "mean of the people analysed with that of the people who gave a baseline but no "
        "later answer, with the 95% interval of the difference (Welch). An interval far from "
        "zero means the analysed people were not typical of everyone who started.",
        "Bands. Where the flow divides a measure into bands (for the ONS personal "
        "well-being questions: low 0 to 4, medium 5 to 6, high 7 to 8, very high 9 to 10; "
        "anxiety: very low 0 to 1, low 2 to 3, medium 4 to 5, high 6 to 10), the report "
        "gives the share of paired people in each band at baseline and at the end, with "
        "Wilson 95% intervals. A band with too few people is hidden like any other small "
        "figure. An averaged answer between two bands counts in the lower one.",
        "Which answers count. Every scored answer counts in the change figures, including "
        "answers to check-ins that expired or were replaced by a newer check-in before they "
        "were finished: an answer given is an answer. The response rate counts only "
        "completed check-ins, so it describes how often check-ins were finished.",
    ]
    paragraphs = [
        # Definitions
        "Who is counted. Residents answer short check-ins by text message. For each measure, "
        "a participant's baseline is their first answer in the reporting period and "
        f"{second}.{start} Only participants who answered at two or more "
        "different times have a change to measure; we call them paired participants. The "
        "baseline mean, the latest mean and every figure about change are worked out over "
        "the same paired participants, so they describe the same people. Where someone gave "
        "two answers at the same moment, the two were averaged.",
        "Response. The response rate is the number of check-ins completed divided by the "
        "number of check-ins sent, so it describes check-ins, not people. The flow of "
        "participants shows how many people were enrolled, how many were sent at least one "
        "check-in, how many answered at least one, and how many answered both a baseline and "
        "a later check-in; beside it, how many withdrew (texted STOP or blocked the service), "
        "how many asked for their data to be erased, and how many answered but were lost to "
        "follow-up (no later answer, and neither withdrew nor were erased).",
        # Tests
        "How big the change is. The mean change is the average of each paired participant's "
        "latest answer minus their baseline. Its 95% confidence interval uses the "
        "t-distribution with one fewer degree of freedom than there are paired participants. "
        "The median change is the middle of those changes. The effect size d_z is the mean "
        "change divided by the standard deviation of the changes, with an exact 95% interval "
        "from the noncentral t-distribution. It depends on how consistent the changes are, so "
        "it is not labelled small, medium or large. The effect size d_av divides the mean "
        "change by the average of the baseline and latest standard deviations, which is "
        "closer to how effects are compared between studies; its interval is the d_z "
        "interval rescaled by the same ratio (an approximation). Every standard deviation "
        "is a sample standard "
        "deviation (dividing by one fewer than the number of people). With fewer than two "
        "paired participants there is no interval, test or effect size.",
        "Could it be chance? The p-value comes from the Wilcoxon signed-rank test, which does "
        "not assume the changes follow a bell curve. People whose answer did not change are "
        "kept in, with their ranks split equally between increase and decrease (the zsplit "
        "method). The p-value is exact for up to 50 paired participants when no changes are "
        "zero or tied, exact (every sign pattern) for up to 13 with ties or zeros, and "
        "otherwise the normal approximation, adjusted for ties. No p-value is given "
        "when every change is zero. A small p-value says the change is unlikely to be chance "
        "alone; it does not say the change was caused by the project.",
        # Reliable change
        "Reliable change for each person. Single answers are noisy, so we count how many "
        "people changed by more than noise. Where the measure has a known test-retest "
        "reliability r, we use the Jacobson-Truax method: the standard error of a difference is "
        "a reference standard deviation times the square root of 2 times the square root of "
        "(1 - r), and a change larger than 1.96 times that is reliable. The reference "
        "standard deviation is fixed for each measure and the same in every view of the "
        "report (everyone, each group, each one-group report): the flow's reference_sd from a "
        "published source where it gives one, otherwise the standard deviation of the "
        "baselines of everyone who answered the measure in the period, worked out once. So a "
        "person is classified the same way wherever they appear. Where no reliability is "
        "known but the project has set the smallest change that matters, a change at least "
        "that large counts as a meaningful change (not a reliable one: the wording says so). "
        "Where neither is set, or there is no reference standard deviation, nobody is "
        "classified and the report says why. A change in the better direction (which may be "
        "downwards, for example for loneliness) is an improvement; in the other direction, "
        "a deterioration.",
        # Suppression
        f"Protecting small groups and single residents. A group's figures are not shown "
        f"when fewer than {threshold} people are behind any of its counts (enrolled, sent a "
        "check-in, answered, or answered twice), or when everyone in it gave the same answer, "
        "since the average would then tell each person's answer. So that a hidden group "
        "cannot be worked out by taking the shown groups away from the total, further groups "
        "are hidden where needed (or the total, if no group is left). This is decided once "
        "for the whole period: a hidden group is hidden in every figure, every week and in "
        "its own one-group report.",
        *_protection_paragraphs(policy),
        *extra,
        # Caveats
        "Who answers. People choose whether to reply, and those who reply may be doing "
        "better, or worse, than those who do not. The figures describe the people who "
        "answered, not everyone enrolled or everyone in the area; read them with the "
        "response rate and the attrition flow.",
        "Regression to the mean. People often join, or answer, at a low point, and many "
        "would feel better later whatever happened. A change from baseline therefore cannot "
        "on its own be credited to the project; there is no comparison group.",
        "Not comparable with national statistics. Answers given by text message, at times "
        "and in words chosen for this project, are not comparable with national survey "
        "figures such as the ONS personal well-being measures, even when the question "
        "wording is the same: the way questions are asked and who answers both differ.",
        "Small numbers. With few paired participants, intervals are wide and one person can "
        "move the mean a lot; treat small groups' figures as indications, not proof.",
    ]
    return paragraphs


def _protection_paragraphs(policy: DisclosurePolicy) -> list[str]:
    """What the report did so that comparing reports cannot single out one person."""
    if not policy.protected:
        return [
            "Counts and averages in this report are exact: it was built for checking the "
            "arithmetic and must not be published."
        ]
    paragraphs = []
    if policy.snap:
        paragraphs.append(
            "Fixed periods. Reports cover whole weeks, Monday to Sunday, that have ended, "
            "whatever dates are asked for; the period used is printed at the top. A report "
            "asked for on any day of a week is the same report, so comparing reports made on "
            "different days cannot single out a newcomer."
        )
    paragraphs.append(
        f"Rounding and noise. Counts of people and check-ins are rounded to the nearest "
        f"{policy.rounding_base}, and the response rate to a whole percentage. Every average "
        f"has a small, fixed amount of noise added: at most {policy.noise_points:g} point "
        "divided by the number of people averaged (so at most 0.2 of a point for 5 people, "
        "0.01 for 100). The noise depends only on the answers averaged, through a secret "
        "key, so the same answers always give the same figure; but two averages that differ "
        "by one person get unrelated noise, so subtracting one report from another does not "
        "reveal that person's answer. The change is the published latest average minus the "
        "published baseline average. Treat the second decimal place as approximate."
    )
    return paragraphs
