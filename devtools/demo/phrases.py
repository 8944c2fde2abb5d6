"""Phrase banks of the demo conversation generator (our own text).

Placeholders are filled from the scaffolding rows and a few random figures per turn.
Double quotes are avoided so the serialised JSON stays easy to read.
"""

USER_OPENERS = (
    "Okay, I'll be honest, I almost cancelled this appointment twice. I'm {first}, I work "
    "as {a_occupation}, and the thing I keep avoiding is {topic}.",
    "Hi. I don't really know where to start, so I'll just say it: {topic} has been sitting "
    "on my to-do list for months and every time I look at it I close the laptop.",
    "Thanks for making time for this. A friend told me I should talk to someone about "
    "{topic} before it turns into a bigger problem than it already is.",
    "So this is a little awkward for me. I'm usually the organized one at work, but when it "
    "comes to {topic} I feel like I'm guessing at every step.",
    "I'll start with the part I'm least proud of. I've been avoiding anything to do with "
    "{topic}, and I think the avoiding has started to cost me real money.",
    "I've read a dozen articles about {topic} this month and somehow I understand it less "
    "now than when I started.",
)

USER_SITUATIONS = (
    "Right now I have roughly {cash} in checking, nothing I'd really call savings, and "
    "{concern} is the thought that wakes me up at three in the morning.",
    "For context, the money side is uneven. Some months it's {income_high}, some months "
    "closer to {income_low}, and I never know which kind of month I'm in until it's over.",
    "The numbers, as far as I know them: about {cash} set aside, a card balance around "
    "{debt}, and no real plan beyond hoping next month is calmer.",
    "What worries me most is {concern}. I keep telling myself I'll deal with it after the "
    "next busy stretch, and then the next busy stretch arrives.",
)

USER_FIRST_QUESTIONS = (
    "So I guess my real question is this: {question}",
    "If I had to boil it down to one thing: {question}",
    "Where I'd love to start is the basic version. {question_cap}",
    "Maybe this is obvious to everyone else, but {question}",
)

USER_REACTIONS_EARLY = (
    "Okay, that actually helps a little. I think I was picturing the number as much worse "
    "than it is.",
    "I hadn't thought about it that way. It still makes my stomach drop a bit, but at least "
    "it feels like something I can look at.",
    "Hm. I want to believe that, but I've heard versions of it's-simple-really before, and "
    "it never felt simple once I sat down to do it.",
    "That's fair. I guess part of me expected you to tell me I'd already messed everything up.",
)

USER_REACTIONS_LATE = (
    "That makes a lot more sense than what I'd pieced together on my own.",
    "Okay, I can actually picture doing that, which is new for me.",
    "Writing it down like that, it feels less like a cliff and more like a set of stairs.",
    "I like that it's specific. Vague advice is exactly what kept me stuck.",
)

USER_FOLLOW_UPS = (
    "If I put {monthly} a month toward the {concept} part, would that be enough to matter, "
    "or is it too small to bother with?",
    "Say I get a good month and {windfall} comes in at once. Does that change how I should "
    "handle {concept}?",
    "My worry with {concept} is that I'll set it up and then undo it the first tight month.",
    "Can you walk me through {concept} with real numbers? I follow better when I can see the math.",
    "How would {concept} work for someone like me, when {concern} is still hanging over "
    "everything?",
)

USER_ASIDES = (
    "Part of the problem is that I don't have anyone to sanity-check these decisions with.",
    "I keep a spreadsheet, technically, but I haven't opened it since spring.",
    "Everyone around me seems to just know this stuff, which makes it harder to ask.",
    "I also don't want to build something so strict that I abandon it after two weeks.",
    "",
)

USER_CLOSINGS = (
    "This is the first time in a long while that I've left a money conversation feeling "
    "lighter. I'm going to start with {step} this week.",
    "Thank you. Honestly, I came in expecting a lecture and I'm leaving with a plan I can "
    "follow. First thing: {step}.",
    "Okay. I can do this. {step_cap} first, and then we check in again in {months} months?",
    "I feel a lot better than when I walked in. Can we put {step} on the calendar so I "
    "don't talk myself out of it?",
)

ASSISTANT_OPENINGS = (
    "I'm really glad you came in, {first}, and I want to say up front that nothing you've "
    "described is unusual.",
    "Thank you for being that candid, {first}. What you're describing is one of the most "
    "common things I hear, and it's very fixable.",
    "That feeling makes complete sense, {first}. When a money question sits unanswered for a "
    "while, it tends to grow in our heads.",
    "First, {first}, you're not as far behind as it feels. You're here, and that's the step "
    "most people skip.",
)

ASSISTANT_REFLECTIONS = (
    "That's a really useful thing to raise, and it tells me you're already thinking like "
    "a planner.",
    "I hear the hesitation in that, and it's healthy. We can test the idea against your real "
    "numbers.",
    "You're right to push on that. A plan that only works in a good month isn't a plan.",
    "I'm glad you said that out loud, because it changes what I'd suggest.",
)

ASSISTANT_EXPLANATIONS = (
    "Here's how I'd think about {concept}. If we start with {monthly} a month, that's "
    "{yearly} over a year before any interest, and it's an amount we can adjust in either "
    "direction once we see how it feels.",
    "Let's put real numbers on {concept}. If {percent} of every payment moves to a separate "
    "account the day it lands, a {windfall} month sends a real amount there without you "
    "deciding anything, and a lean month sends less, which is fine.",
    "The way {concept} works in practice is less complicated than the articles make it "
    "sound. We pick one number, automate it, and look at it again in {months} months rather "
    "than every day.",
    "On {concept}, the goal isn't perfection, it's a default that happens without "
    "willpower. For you that might be {monthly} moving on the first of every month, plus a "
    "bigger transfer whenever a strong month comes in.",
    "A useful way to see {concept}: it's a decision you make once, in a calm moment, so you "
    "don't have to make it again in a stressful one. We write the rule down today and "
    "check it against your statements in {months} months.",
    "With {concept}, the order matters more than the amount. We decide what comes first, "
    "give it a number like {monthly} a month, and only then look at the next piece, so "
    "nothing competes for the same dollars.",
)

ASSISTANT_STEPS = (
    "For this week, I'd suggest just one thing: {step}. Nothing else has to change yet.",
    "A reasonable first step is {step}. We can layer the rest on once that feels routine.",
    "If you do only one thing before we talk again, make it {step}.",
)

ASSISTANT_CHECK_INS = (
    "How does that land for you?",
    "Does that feel doable, or does any part of it feel like too much right now?",
    "Which part of that would you like to go over again?",
    "Is there anything in that plan that doesn't fit how your months actually go?",
)

ASSISTANT_FINALS = (
    "That sounds like a solid plan, {first}. To recap: {step}, then we revisit {concept} in "
    "{months} months with real numbers in front of us. You did the hardest part today by "
    "looking at this directly instead of around it.",
    "I'm glad, {first}. You came in carrying a lot of {start_emotion}, and you're leaving with "
    "a plan you chose yourself, which is the kind that sticks. Start with {step}, and send "
    "me a note once it's done so we can celebrate it properly.",
)

STEPS = (
    "opening a separate savings account just for this",
    "setting up an automatic transfer for the day after each payment arrives",
    "writing down last year's actual numbers, month by month",
    "a twenty-minute check-in with your accounts every Sunday evening",
    "moving the first {monthly} into a separate account",
    "putting our first review date on the calendar",
)

TRIGGERS = (
    "a letter about an unexpected balance due",
    "a slow month that drained the checking account",
    "a conversation with a friend who had just retired",
    "realizing the savings account was nearly empty",
    "months of putting the decision off",
    "a colleague mentioning their own plan over lunch",
)

PHASES = (
    "first_session_discovery",
    "situation_mapping",
    "options_review",
    "plan_commitment",
)

EMOTIONS_EARLY = ("uncertainty", "worry", "hesitation", "vulnerability")
EMOTIONS_LATE = ("curiosity", "hope", "cautious optimism", "relief")
SECONDARY_EARLY = ("anxiety", "confusion", "frustration", "fatigue", "worry")
SECONDARY_LATE = ("hope", "curiosity", "determination", "gratitude")
ASSISTANT_PRIMARY = ("calm", "warmth", "reassurance", "steadiness", "encouragement")
ASSISTANT_SECONDARY = ("empathy", "patience", "curiosity", "confidence", "optimism")
