"""Names the contract (../shared/contract/README.md) promises to other programs.

They are checked against the knowledge at load time, so a missing or renamed id is a
knowledge error, not a silent change of the public interface.
"""

from __future__ import annotations

RESULT_FORMAT = "itb-result/1"
CASE_FORMAT = "itb-case/1"

DISPOSITIONS = ("emergency", "same_day", "within_days", "routine", "self_care", "incomplete")
TIERS = ("conservative", "supervised", "soft_tissue", "medical", "surgical")

RECOMMENDATIONS = (
    "relative_rest", "fredericson_protocol", "added_hip_exercises",
    "foam_roll_surrounding_muscles", "ice_cup", "aqua_jogging", "gait_retraining",
    "training_load_review", "graded_return_to_running", "settle_pain_first",
    "see_sports_physio", "soft_tissue_therapy", "discuss_injection", "imaging_review",
    "surgical_opinion", "race_guidance", "seek_emergency_care", "see_clinician_today",
    "see_clinician_within_days", "book_clinician", "ask_pharmacist_about_medication",
)

# Ids that version 2 of the contract announces and the knowledge may not carry yet:
# wording for them (presentation.yaml) may be written ahead of the rules that use them.
ANNOUNCED = (
    "safety_net", "call_emergency_number", "see_surgeon", "gluteal_tendinopathy_loading",
    "hip_adduction_positions",
)

AVOID = ("stretch_itb", "foam_roll_itb", "run_through_pain", "aqua_jogging", "soft_tissue_therapy")

CONDITIONS = (
    "itbs", "patellofemoral_pain", "lateral_meniscus_tear", "gluteal_tendinopathy",
    "lumbar_radiculopathy", "bone_stress_injury", "femoral_neck_stress_fracture",
    "knee_fracture", "septic_arthritis", "dvt", "cauda_equina",
)

NOT_A_MEDICAL_DEVICE = "Not a medical device. It does not diagnose; if in doubt, see a clinician."
