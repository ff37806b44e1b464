"""The method note printed with every change summary.

Funders and councils are asked to trust the figures, so each report says in plain English
how they were made and what they cannot show. The wording here must match what
``reports.statistics`` and ``reports.disclosure`` actually do; change them together.
"""

from __future__ import annotations

from reports.disclosure import DisclosurePolicy

__all__ = ["method_note"]


def method_note(threshold: int, policy: DisclosurePolicy | None = None) -> list[str]:
    """Paragraphs explaining the figures, for readers who are not statisticians.

    ``threshold`` is the small-number suppression threshold the report was built with;
    ``policy`` (default: full protection) says how counts and means were protected.
    """
    policy = policy or DisclosurePolicy(threshold=threshold)
    return [
        # Definitions
        "Who is counted. Residents answer short check-ins by text message. For each measure, "
        "a participant's baseline is their first answer in the reporting period and their "
        "latest is their last answer in it. Only participants who answered at two or more "
        "different times have a change to measure; we call them paired participants. The "
        "baseline mean, the latest mean and every figure about change are worked out over "
        "the same paired participants, so they describe the same people. Where someone gave "
        "two answers at the same moment, the two were averaged.",
        "Response. The response rate is the number of check-ins completed divided by the "
        "number of check-ins sent, so it describes check-ins, not people. The attrition flow "
        "shows how many people were enrolled, how many were sent at least one check-in, how "
        "many answered at least one, and how many answered both a baseline and a later "
        "check-in.",
        # Tests
        "How big the change is. The mean change is the average of each paired participant's "
        "latest answer minus their baseline. Its 95% confidence interval uses the "
        "t-distribution with one fewer degree of freedom than there are paired participants. "
        "The median change is the middle of those changes. The effect size d_z is the mean "
        "change divided by the standard deviation of the changes; as a rough guide, 0.2 is "
        "small, 0.5 medium and 0.8 large. Every standard deviation is a sample standard "
        "deviation (dividing by one fewer than the number of people). With fewer than two "
        "paired participants there is no interval, test or effect size.",
        "Could it be chance? The p-value comes from the Wilcoxon signed-rank test, which does "
        "not assume the changes follow a bell curve. People whose answer did not change are "
        "kept in, with their ranks split equally between increase and decrease (the zsplit "
        "method). The p-value is exact for up to 50 paired participants when no changes are "
        "zero or tied, an exact permutation version for up to 13 with ties or zeros, and "
        "otherwise the normal approximation, adjusted for ties. No p-value is given "
        "when every change is zero. A small p-value says the change is unlikely to be chance "
        "alone; it does not say the change was caused by the project.",
        # Reliable change
        "Reliable change for each person. Single answers are noisy, so we count how many "
        "people changed by more than noise. Where the measure has a known test-retest "
        "reliability r, we use the Jacobson-Truax method: the standard error of a difference is "
        "the standard deviation of the paired participants' baselines times the square root "
        "of 2 times the square root of (1 - r), and a change larger than 1.96 times that is "
        "reliable. Where no reliability is known but the project has set the smallest change "
        "that matters, a change at least that large counts. Where neither is set, or the "
        "baselines do not vary, nobody is classified and the report says why. A reliable "
        "change in the better direction (which may be downwards, for example for loneliness) "
        "is an improvement; in the other direction, a deterioration.",
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
